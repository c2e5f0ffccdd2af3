"""Whisper's byte-level BPE tokenizer.json: special token ids and the raw byte vocabulary."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import ModelFormatError

# Content of each special token; v3 renamed <|nocaptions|> to <|nospeech|>.
_SPECIALS = {
    "eot": ("<|endoftext|>",),
    "sot": ("<|startoftranscript|>",),
    "translate": ("<|translate|>",),
    "transcribe": ("<|transcribe|>",),
    "sot_lm": ("<|startoflm|>",),
    "sot_prev": ("<|startofprev|>",),
    "no_speech": ("<|nocaptions|>", "<|nospeech|>"),
    "no_timestamps": ("<|notimestamps|>",),
}


@dataclass(frozen=True)
class WhisperTokens:
    """Ids of Whisper's special tokens, read from tokenizer.json."""

    eot: int
    sot: int
    translate: int
    transcribe: int
    sot_lm: int
    sot_prev: int
    no_speech: int
    no_timestamps: int
    languages: dict[str, int]  # "<|en|>" -> id, every token between sot and translate
    named: dict[str, int]  # every added token below the timestamps, by content, in id order

    @property
    def timestamp_begin(self) -> int:
        return self.no_timestamps + 1


def load_tokenizer_json(path: str | os.PathLike) -> dict:
    """Parse a Hugging Face tokenizers ``tokenizer.json`` holding a BPE model."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no tokenizer.json (needed for this format)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: unreadable tokenizer.json ({exc})") from None
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise ModelFormatError(f"{path}: tokenizer.json does not hold a BPE model")
    return data


def added_tokens(tokenizer: dict) -> dict[str, int]:
    """Content -> id of every added token."""
    return {t["content"]: int(t["id"]) for t in tokenizer.get("added_tokens", [])}


def whisper_tokens(tokenizer: dict) -> WhisperTokens:
    """Special token ids of a Whisper tokenizer.json."""
    added = added_tokens(tokenizer)
    ids: dict[str, int] = {}
    for field, contents in _SPECIALS.items():
        found = [added[c] for c in contents if c in added]
        if not found:
            raise ModelFormatError(f"tokenizer.json has no {contents[0]} token; not a Whisper tokenizer")
        ids[field] = found[0]
    languages = {c: i for c, i in added.items() if ids["sot"] < i < ids["translate"]}
    named = dict(sorted(((c, i) for c, i in added.items() if i <= ids["no_timestamps"]), key=lambda kv: kv[1]))
    return WhisperTokens(**ids, languages=languages, named=named)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table used by byte-level BPE."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def bpe_token_bytes(tokenizer: dict) -> list[bytes]:
    """Raw bytes of each ordinary BPE token, in id order (added/special tokens left out)."""
    decode = {char: byte for byte, char in _bytes_to_unicode().items()}
    specials = set(added_tokens(tokenizer))
    pairs = sorted((i, tok) for tok, i in tokenizer["model"]["vocab"].items() if tok not in specials)
    if [i for i, _ in pairs] != list(range(len(pairs))):
        raise ModelFormatError("tokenizer.json vocabulary ids are not contiguous from 0")
    try:
        return [bytes(decode[ch] for ch in tok) for _, tok in pairs]
    except KeyError as exc:
        raise ModelFormatError(f"tokenizer.json holds a token that is not byte-level BPE ({exc})") from None


def merges_lines(tokenizer: dict) -> list[str]:
    """BPE merges as ``"a b"`` lines (tokenizer.json stores strings or pairs)."""
    merges = tokenizer["model"].get("merges", [])
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def timestamp_token_entries(tokenizer: dict, n_vocab: int) -> list[dict]:
    """Added-token entries for the ``<|0.00|>`` .. timestamp tokens that tokenizer.json lacks."""
    tokens = whisper_tokens(tokenizer)
    present = set(added_tokens(tokenizer).values())
    entries = []
    for token_id in range(tokens.timestamp_begin, n_vocab):
        if token_id in present:
            continue
        content = f"<|{(token_id - tokens.timestamp_begin) * 0.02:.2f}|>"
        entries.append(
            {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": True, "special": False}
        )
    return entries
