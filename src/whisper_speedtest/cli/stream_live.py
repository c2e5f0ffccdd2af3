"""``stream --mic``: the microphone, live, to the first backend; its recording replayed to the others (``bench.streaming.live``)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .stream import LiveTranscript, report_stream, stream_callbacks

LIVE_POLL_S = 0.05  # how often the recorder hands new audio to the live backend


def stream_microphone(*, model: str, backends, notes, decode, load_options, chunks: tuple[float, ...], agreement: int, timeout: float,
                      reference: str | None, input_device: str | None, max_seconds: float | None, save: Path | None, paths: list[Path],
                      out: Console, err: Console, quiet: bool, debug: bool) -> None:
    import sys

    from ..audio import bundled_sample, load_clip
    from ..bench.streaming.live import LiveRequest, run_live
    from ..recorder import Recorder, enter_pressed, import_sounddevice, input_device_info, recording_name, save_recording
    from .record import _device_argument

    device = _device_argument(input_device)
    input_device_info(import_sounddevice(), device)  # no microphone, no PortAudio: one line before any model loads
    name, where = (save.name, str(save)) if save is not None else (recording_name(), "(microphone, not saved)")
    request = LiveRequest(model=model, backends=backends, decode=decode, load_options=load_options,
                          warmup=load_clip(bundled_sample()).samples, clip_name=name, clip_path=where, reference=reference,
                          chunk_sizes=chunks, timeout_s=timeout, agreement=agreement, max_seconds=max_seconds)
    for note in notes:
        err.print(note, markup=False, highlight=False)
    limit = f"stops by itself after {max_seconds:g} s" if max_seconds else ""
    hint = ("Enter stops" + (f" · {limit}" if limit else "")) if sys.stdin.isatty() else (limit or "Ctrl-C stops") + " (stdin is not a terminal)"
    live = LiveTranscript(err, enabled=not quiet and err.is_terminal)

    def recorded(recording) -> None:
        if not quiet:
            err.print(f"recorded {recording.duration_s:.1f} s" + (f" ({recording.overflows} input overflow(s): some audio was dropped)"
                                                                 if recording.overflows else ""), markup=False, highlight=False)
        if save is not None:
            save_recording(save, recording)
            if not quiet:
                err.print(f"saved {save}", markup=False, highlight=False)

    recorder = Recorder(device=device, poll_s=LIVE_POLL_S)
    report_stream(lambda: run_live(request, recorder, enter_pressed(), on_meter=lambda reading: live.on_meter(reading, hint),
                                   on_recorded=recorded, **stream_callbacks(live, err, quiet, debug)),
                  live, paths, out, err, quiet)
