"""Random-weight Whisper models of a catalog architecture, for speed only (no WER).

Used by ``--synthetic-weights`` where the real weights of large models are not on the machine.
Decoding runs exactly a fixed number of tokens so every row does the same work.
"""

from __future__ import annotations

from ...models import catalog


def hf_config(name: str):
    """A transformers WhisperConfig with the architecture of catalog model ``name``."""
    from transformers import WhisperConfig

    dims = catalog.get(name).dims
    return WhisperConfig(
        vocab_size=dims.n_vocab,
        num_mel_bins=dims.n_mels,
        d_model=dims.n_audio_state,
        encoder_layers=dims.n_audio_layer,
        encoder_attention_heads=dims.n_audio_head,
        decoder_layers=dims.n_text_layer,
        decoder_attention_heads=dims.n_text_head,
        encoder_ffn_dim=4 * dims.n_audio_state,
        decoder_ffn_dim=4 * dims.n_text_state,
        max_source_positions=dims.n_audio_ctx,
        max_target_positions=dims.n_text_ctx,
        decoder_start_token_id=50257,
        bos_token_id=50256,
        eos_token_id=50256,
        pad_token_id=50256,
    )


def synthetic_whisper(name: str, placement, attention: str):
    """(model, processor-like object) with seeded random weights on the placement's device."""
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    torch.manual_seed(0)
    config = hf_config(name)
    config._attn_implementation = attention
    with torch.device(placement.device):
        network = WhisperForConditionalGeneration(config).to(placement.torch_dtype)
    return network, _SyntheticProcessor(WhisperFeatureExtractor(feature_size=config.num_mel_bins), _tokenizer())


class _SyntheticProcessor:
    def __init__(self, feature_extractor, tokenizer) -> None:
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer


def _tokenizer():
    """A real Whisper tokenizer when one is on the machine (detokenizing is part of the work)."""
    from transformers import AutoTokenizer

    from ...models import sources

    for name in ("base", "tiny.en"):
        try:
            return AutoTokenizer.from_pretrained(sources.locate(name, "hf").path)
        except Exception:
            continue
    return _CountingTokenizer()


class _CountingTokenizer:
    """Stands in when no tokenizer is available: reports how many tokens were produced."""

    def batch_decode(self, tokens, skip_special_tokens: bool = True):
        return [f"<{len(row)} tokens>" for row in tokens.tolist()]

    def __call__(self, *args, **kwargs):  # the pipeline constructor only stores it
        raise NotImplementedError


def generate_fixed_tokens(network, input_features, tokens: int):
    """Greedy decoding of exactly ``tokens`` new tokens with the KV cache, EOS ignored."""
    import torch
    from transformers import GenerationConfig
    from transformers.generation.utils import GenerationMixin

    batch = input_features.shape[0]
    start = torch.full((batch, 1), 50257, dtype=torch.long, device=input_features.device)
    config = GenerationConfig(
        max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False, num_beams=1,
        eos_token_id=None, pad_token_id=50256, decoder_start_token_id=50257,
    )
    return GenerationMixin.generate(network, input_features=input_features, decoder_input_ids=start, generation_config=config)
