"""Backends that misbehave on purpose, to test the harness's isolation. Registered by tests only."""

import os
import signal
import time

from whisper_speedtest.backends.base import Backend, LoadResult, Transcript


class _Fake(Backend):
    requires = ()
    model_format = "ct2"

    def load(self, model, options):
        return LoadResult(requested="float16", actual="float16")

    def transcribe(self, audio, options):
        return Transcript("and so my fellow americans")

    def params(self):
        return {"device": "none"}


class EchoBackend(_Fake):
    name = "fake-echo"
    display_name = "fake echo"


class DiesOnceBackend(_Fake):
    """Dies by SIGKILL on its second batch, the first after the warm-up, once per run (the marker file
    in ``FAKE_DIES_ONCE_MARKER`` remembers it); each transcript names its clip's length."""

    name = "fake-dies-once"
    display_name = "fake dies once"
    calls = 0

    def transcribe_batch(self, audios, options):
        marker = os.environ["FAKE_DIES_ONCE_MARKER"]
        DiesOnceBackend.calls += 1
        if DiesOnceBackend.calls == 2 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return [Transcript(f"clip of {len(audio)} samples") for audio in audios]


class KilledBackend(_Fake):
    """Dies the way the kernel's out-of-memory killer ends a process."""

    name = "fake-killed"
    display_name = "fake killed"

    def transcribe(self, audio, options):
        os.kill(os.getpid(), signal.SIGKILL)


def _fill_address_space(headroom: int = 192 * 2**20) -> list:
    """Lower this process's RLIMIT_AS to just above what it uses, then allocate until nothing more fits."""
    import resource

    import psutil

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (psutil.Process().memory_info().vms + headroom, hard))
    hoard = []
    for size in (2**20, 2**16):
        try:
            while True:
                hoard.append(bytearray(size))
        except MemoryError:
            pass
    time.sleep(1)  # long enough for the parent to sample the peak
    return hoard


class OutOfMemoryKilledBackend(_Fake):
    """Fills its memory limit, then dies by SIGKILL, as the kernel would end it."""

    name = "fake-oom-killed"
    display_name = "fake oom killed"

    def transcribe(self, audio, options):
        hoard = _fill_address_space()
        os.kill(os.getpid(), signal.SIGKILL)
        return hoard


class StuckAtMemoryLimitBackend(_Fake):
    """Fills its memory limit, then spins without a word, as a backend retrying failed allocations would."""

    name = "fake-oom-stuck"
    display_name = "fake oom stuck"

    def transcribe(self, audio, options):
        hoard = _fill_address_space()
        while hoard:
            time.sleep(0.05)


class HangingBackend(_Fake):
    name = "fake-hang"
    display_name = "fake hang"

    def load(self, model, options):
        time.sleep(3600)


class RaisingBackend(_Fake):
    name = "fake-raise"
    display_name = "fake raise"

    def load(self, model, options):
        raise RuntimeError("weights exploded\nsecond line that must not show")


def _write_pidfile() -> None:
    pidfile = os.environ.get("FAKE_BACKEND_PIDFILE")
    if pidfile:
        with open(pidfile + ".tmp", "w") as handle:
            handle.write(str(os.getpid()))
        os.replace(pidfile + ".tmp", pidfile)


class SlowBackend(_Fake):
    """Writes its pid to $FAKE_BACKEND_PIDFILE once loaded, then takes $FAKE_SLOW_S (default 60) per clip."""

    name = "fake-slow"
    display_name = "fake slow"

    def load(self, model, options):
        _write_pidfile()
        return super().load(model, options)

    def transcribe(self, audio, options):
        time.sleep(float(os.environ.get("FAKE_SLOW_S", "60")))
        return super().transcribe(audio, options)


class SlowLocateBackend(_Fake):
    """Takes a minute to find its weights (in the main process, before any child starts), like a conversion."""

    name = "fake-slow-locate"
    display_name = "fake slow locate"

    @classmethod
    def locate_model(cls, name):
        _write_pidfile()
        time.sleep(60)


class MacOnlyBackend(_Fake):
    name = "fake-mac"
    display_name = "fake mac"
    platforms = ("darwin",) if os.uname().sysname != "Darwin" else ("win32",)


class MlxFilesBackend(_Fake):
    """An MLX-format backend that opens the weights it is given (a truncated file fails to load) and
    reports the quantization its config.json records, as mlx-whisper does."""

    name = "fake-mlx-files"
    display_name = "fake mlx files"
    model_format = "mlx"

    def load(self, model, options):
        import json
        from pathlib import Path

        from safetensors import safe_open

        with safe_open(str(Path(model.path) / "weights.safetensors"), "np") as weights:
            list(weights.keys())
        bits = (json.loads((Path(model.path) / "config.json").read_text()).get("quantization") or {}).get("bits")
        actual = f"int{bits}" if bits else "float16"
        return LoadResult(requested="native", actual=actual)


class ChattyBackend(_Fake):
    """Talks as libraries do while loading: a tqdm bar redrawn with \\r, a Python warning, and a line
    written straight to file descriptor 2 as native code would."""

    name = "fake-chatty"
    display_name = "fake chatty"

    def load(self, model, options):
        import sys
        import warnings

        for done in range(0, 101, 25):
            sys.stderr.write(f"\rLoading weights: {done}%|{'#' * (done // 10)}| {done}/100")
            sys.stderr.flush()
        sys.stderr.write("\n")
        warnings.warn("generation_config default values have been modified; this is deprecated", UserWarning, stacklevel=1)
        print("some library chatter on stdout")
        os.write(2, b"[native] compute type int8_float32\n")
        return super().load(model, options)


ODD_TEXT = "and so \ud800 my\x00 fellow \x1b[31mamericans\x07"


class OddTextBackend(_Fake):
    """A library that hands back text no writer takes as it is: a lone surrogate, NUL, ESC, BEL."""

    name = "fake-odd-text"
    display_name = "fake odd \udc80 text"

    def transcribe(self, audio, options):
        return Transcript(ODD_TEXT)

    def params(self):
        return {"device": "none", "note\x00": ODD_TEXT}


ALL = (EchoBackend, ChattyBackend, MlxFilesBackend, KilledBackend, DiesOnceBackend, HangingBackend, RaisingBackend, MacOnlyBackend, SlowBackend,
       SlowLocateBackend, OutOfMemoryKilledBackend, StuckAtMemoryLimitBackend, OddTextBackend)
