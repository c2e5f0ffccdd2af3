"""Load options only the transformers backends read, carried in ``LoadOptions.backend_options``.

A light module (no torch, no transformers): the command line imports it to pass these options on.
"""

CUDA_GRAPHS = "cuda_graphs"  # graph-decoder: replay its static-KV-cache steps as CUDA graphs (False: eagerly); default True
SYNTHETIC_TOKENS = "synthetic_tokens"  # --synthetic-weights: decode exactly this many tokens per clip; default 40
DEFAULT_SYNTHETIC_TOKENS = 40
