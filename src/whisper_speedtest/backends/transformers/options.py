"""Load options only the transformers backends read, carried in ``LoadOptions.backend_options``.

A light module (no torch, no transformers): the command line imports it to pass these options on.
"""

from __future__ import annotations

from enum import Enum

CUDA_GRAPHS = "cuda_graphs"  # graph-decoder: replay its static-KV-cache steps as CUDA graphs (False: eagerly); default True
SYNTHETIC_TOKENS = "synthetic_tokens"  # --synthetic-weights: decode exactly this many tokens per clip; default 40
DEFAULT_SYNTHETIC_TOKENS = 40
GRAPH_SPEEDUPS = "graph_speedups"  # graph-decoder: the GraphSpeedup values switched on (a tuple); default none


class GraphSpeedup(str, Enum):
    """Optional speed-ups of the graph decoder, each switched on by name (measured side by side in benchmarks/gpu.py)."""

    COMPACT = "compact"  # row compaction: rows that have ended leave the decoder's steps
    OVERLAP = "overlap"  # the next batch's log-mel on a second CUDA stream while this batch decodes
    OVERLAP_ENCODER = "overlap-encoder"  # as overlap, and the next batch's encoder on that stream too
    COMPILE = "compile"  # torch.compile of the encoder (mode "default")
    COMPILE_AUTOTUNE = "compile-autotune"  # torch.compile of the encoder, mode "max-autotune-no-cudagraphs"

    @classmethod
    def parse(cls, names) -> tuple[GraphSpeedup, ...]:
        """The speed-ups named (names, each maybe "a+b" or "a,b"; "current" and "none" name none), each once;
        ValueError names an unknown one."""
        if isinstance(names, str):
            names = (names,)
        texts = (n.value if isinstance(n, GraphSpeedup) else str(n) for n in names)
        parts = (part for text in texts for part in text.replace("+", ",").split(","))
        chosen = []
        for name in (part.strip() for part in parts):
            if not name or name in ("current", "none"):
                continue
            try:
                chosen.append(cls(name))
            except ValueError:
                raise ValueError(f"unknown graph-decoder speed-up {name!r} (known: "
                                 + ", ".join(s.value for s in cls) + ")") from None
        return tuple(dict.fromkeys(chosen))
