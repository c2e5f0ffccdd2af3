"""The transformers backends: stock pipeline(), and our CUDA-graph decoder over the same modules."""
