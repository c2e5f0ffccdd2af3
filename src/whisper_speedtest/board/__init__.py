"""The shared board: runs published to a Hugging Face dataset repo, and one page built from all of them."""
