#!/usr/bin/env bash
# Prepares, on this (CPU) machine, what a GPU run of benchmarks/gpu.py needs on the lent device machine, which has
# no network: the base model's HF copy from our store (converted from the pip packages), cut into parts that fit
# one device call each, its sha256, the shared varied set, and Python 3.12 wheels of the tool's pure dependencies.
# Everything lands in ignored folders (.carry/, .whl/). Run from the repository root with a venv that has the
# base-model extra:  .venv/bin/pip install -e '.[transformers,base-model]' && benchmarks/device/make_carry.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
STORE=$(mktemp -d)
WHISPER_SPEEDTEST_HOME=$STORE HF_HUB_OFFLINE=1 "$PY" -c "from whisper_speedtest.models import sources; print(sources.locate('base', 'hf'))"
rm -rf .carry/parts && mkdir -p .carry/parts
tar cf "$STORE.tar" -C "$STORE" --exclude=models/base/ct2-float16 .
split -b 38M -d "$STORE.tar" .carry/parts/base-hf.tar.
sha256sum "$STORE.tar" | cut -d' ' -f1 > .carry/base-hf.sha256
rm -rf "$STORE" "$STORE.tar"
rm -rf .carry/varied && cp -r "${VARIED:-../shared/audio/varied}" .carry/varied
rm -rf .whl && mkdir .whl
(cd .whl && pip download -q --python-version 3.12 --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    jiwer whisper-normalizer soundfile soxr pydantic typer rich psutil nvidia-ml-py)
rm -f .whl/numpy-* .whl/typing_extensions-*  # the image's own are kept
ls -la .carry/parts; du -sh .whl .carry/varied
cat <<'NOTE'
Device calls (each within the 64 MiB a call carries, working tree included), back to back while the machine is warm:
  1. carry .whl .carry/parts/base-hf.tar.00 .carry/base-hf.sha256     command: source benchmarks/device/prep.sh
  2. carry .carry/varied .carry/parts/base-hf.tar.01                   command: source benchmarks/device/prep.sh
  3. carry .carry/parts/base-hf.tar.02                                 command: source benchmarks/device/prep.sh
  4. carry .carry/parts/base-hf.tar.03 .carry/base-hf.sha256           command: source benchmarks/device/prep.sh && python3 benchmarks/gpu.py --varied /tmp/varied/manifest.jsonl ...
NOTE
