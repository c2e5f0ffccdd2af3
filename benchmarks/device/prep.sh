# Sourced on the device machine at the repository root, once per call: gathers the carried parts of
# benchmarks/device/make_carry.sh in /tmp, installs the carried wheels behind the image's own packages (a .pth
# at the end of sys.path, so the image's torch, numpy and transformers win), and once all parts are there,
# joins them, checks the sha256 and unpacks the store. Then exports what benchmarks/gpu.py needs.
mkdir -p /tmp/parts /tmp/site
if [ -d .carry/parts ]; then cp -n .carry/parts/* /tmp/parts/ 2>/dev/null; fi
if [ -d .carry/varied ] && [ ! -f /tmp/varied/manifest.jsonl ]; then cp -r .carry/varied /tmp/varied; fi
if [ -d .whl ] && [ ! -f /tmp/site/.done ]; then
  python3 -m pip install -q --no-deps --no-index --target /tmp/site .whl/*.whl && touch /tmp/site/.done
  echo /tmp/site > "$(python3 -c 'import site; print(site.getsitepackages()[0])')/zz-carried.pth"
fi
ls -la /tmp/parts | tail -n +2
if [ -f .carry/base-hf.sha256 ] && [ ! -f /tmp/wsh/models/base/hf-float16/manifest.json ] && [ "$(ls /tmp/parts | wc -l)" = 4 ]; then
  cat /tmp/parts/base-hf.tar.0* > /tmp/base-hf.tar
  echo "$(cat .carry/base-hf.sha256)  /tmp/base-hf.tar" | sha256sum -c - && mkdir -p /tmp/wsh && tar xf /tmp/base-hf.tar -C /tmp/wsh
fi
export WHISPER_SPEEDTEST_HOME=/tmp/wsh HF_HUB_OFFLINE=1 PYTHONPATH=$PWD/src
