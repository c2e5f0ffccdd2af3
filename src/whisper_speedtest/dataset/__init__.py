"""Datasets for ``--dataset``: JSONL manifests, folders of audio and Hugging Face ``datasets`` sets."""
