"""The ``stream`` command: play a file to every backend in chunks, as it would arrive live, or stream the
microphone live (``--mic``), and measure how soon and how steadily the words appear (``bench.streaming``)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from ..errors import BadOption, check_seconds
from . import options as opt
from .options import backend_choice, split_csv

if TYPE_CHECKING:
    from ..bench.streaming.records import StreamRun


class ClockChoice(str, Enum):
    simulated = "simulated"
    real = "real"
    both = "both"


def parse_chunks(values: list[str] | None) -> tuple[float, ...]:
    from ..bench.streaming.session import check_chunk_sizes

    sizes = []
    for text in split_csv(values) or ["1"]:
        try:
            sizes.append(float(text))
        except ValueError:
            raise BadOption(f"--chunk must be seconds, e.g. 1 or 0.5,1,2 (got {text!r})") from None
    check_chunk_sizes(tuple(sizes))
    return tuple(dict.fromkeys(sizes))


def write_stream_outputs(run: StreamRun, paths: list[Path], err: Console, quiet: bool) -> list[str]:
    from ..report.stream_writers import STREAM_WRITERS
    from ..report.writers import write_output
    from ..errors import OutputError

    failures = []
    for path in paths:
        try:
            write_output(path, STREAM_WRITERS[path.suffix.lower()](run))
            if not quiet:
                err.print(f"wrote {path}")
        except OutputError as exc:
            failures.append(str(exc))
    return failures


def check_stream_outputs(raw: list[str]) -> list[Path]:
    from ..report.stream_writers import STREAM_WRITERS
    from ..report.writers import check_output_paths

    paths = check_output_paths(raw)
    for path in paths:
        if path.suffix.lower() not in STREAM_WRITERS:
            raise BadOption(f"stream writes {', '.join(STREAM_WRITERS)} (not {path.suffix})")
    return paths


class LiveTranscript:
    """What a live display would show for the stream in progress: the committed text, then the tentative tail (dim)."""

    def __init__(self, err: Console, enabled: bool) -> None:
        from rich.live import Live

        self._live = Live(console=err, refresh_per_second=8, transient=True) if enabled else None
        self._label, self._committed = "", ""
        self.line = None  # the last line shown
        self.header = None  # the microphone's line above it (stream --mic)

    def __enter__(self) -> LiveTranscript:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.stop()

    def on_step(self, label: str, step) -> None:
        from rich.text import Text

        if self._live is None:
            return
        if label != self._label:
            self._label, self._committed = label, ""
        self._committed += "".join(w.text for w in step.committed)
        line = Text(f"{label} · {step.audio_end_s:.1f} s: ", style="bold")
        line.append(self._committed[-400:].strip())
        line.append("".join(w.text for w in step.tentative), style="dim")
        self.line = line
        self._show()

    def on_meter(self, reading, hint: str) -> None:
        """The microphone's elapsed time and level, above the live transcript (called from the recorder's thread)."""
        from .record import render_meter

        if self._live is None:
            return
        self.header = render_meter(reading, hint)
        self._show()

    def _show(self) -> None:
        from rich.console import Group

        parts = [part for part in (self.header, self.line) if part is not None]
        self._live.update(Group(*parts))


def check_live_options(audio: str | None, clock: ClockChoice | None, max_seconds: float, save: Path | None) -> None:
    """--mic's options, checked before any model loads or the microphone opens."""
    if audio is not None:
        raise BadOption("--mic streams the microphone; leave out -a/--audio (or leave out --mic to stream the file)")
    if clock not in (None, ClockChoice.real):
        raise BadOption(f"--mic streams on the real clock (the speed of speech); --clock {clock.value} is for files")
    check_seconds("--max-seconds", max_seconds, zero_allowed=True)
    if save is not None:
        from ..recorder import check_save_path

        check_save_path(save)


def print_stream(run: StreamRun, out: Console, verbose: bool = False) -> None:
    from ..report.fit import print_fitted
    from ..report.stream_rows import not_run_lines, notes, row_label, settings_text, stream_table
    from ..report.table import print_library_logs

    if any(row.status == "ok" for row in run.rows):
        print_fitted(out, stream_table(run, out))
    # wrapped by Rich between words, not cut by the terminal mid-word
    for line in not_run_lines(run):
        out.print(line, highlight=False, markup=False)
    out.print(settings_text(run), highlight=False, markup=False, style="dim")
    for line in notes(run):
        out.print(f"· {line}", highlight=False, markup=False, style="dim")
    print_library_logs([(row_label(row), row.library_log) for row in run.rows], out, verbose=verbose)


def stream_callbacks(live: LiveTranscript, err: Console, quiet: bool, debug: bool) -> dict:
    """What a run tells as it goes: steps to the live transcript, progress, tracebacks (--debug), rows and notes."""

    def progress(label: str, kind: str, payload) -> None:
        if kind == "step":
            live.on_step(label, payload[1])
        elif kind == "progress" and not quiet:
            err.print(f"[dim]{label}: {payload}[/dim]", highlight=False)
        elif kind == "traceback" and debug:
            err.print(payload, markup=False, highlight=False)

    def row_done(row) -> None:
        if not quiet:
            err.print(f"{row.backend} @ {row.chunk_s:g} s: {row.status}" + (f" ({row.reason})" if row.reason else ""), markup=False, highlight=False)

    return {"on_progress": progress, "on_row": row_done, "on_note": lambda text: None if quiet else err.print(text, markup=False, highlight=False)}


def report_stream(run_it, live: LiveTranscript, paths: list[Path], out: Console, err: Console, quiet: bool, verbose: bool = False) -> None:
    """Run, then write and print the run; after Ctrl-C, what was measured, and the signal's exit code."""
    from ..bench.streaming.session import StreamInterrupted
    from ..interrupts import describe, exit_code
    from ..results import OK

    try:
        with live:
            run = run_it()
    except StreamInterrupted as stop:
        failures = write_stream_outputs(stop.run, paths, err, quiet)
        print_stream(stop.run, out, verbose)
        err.print(f"{describe(stop.signum)}; kept what was measured", markup=False, highlight=False)
        if failures:
            err.print("error: " + "; ".join(failures), markup=False, highlight=False)
        raise typer.Exit(exit_code(stop.signum)) from None
    failures = write_stream_outputs(run, paths, err, quiet)
    print_stream(run, out, verbose)
    if failures:
        from ..errors import OutputError

        raise OutputError("; ".join(failures))
    if not any(row.status == OK for row in run.rows):
        raise typer.Exit(1)


LIVE_POLL_S = 0.05  # how often the recorder hands new audio to the live backend


def stream_microphone(*, model: str, backends, notes, decode, load_options, chunks: tuple[float, ...], agreement: int, timeout: float,
                      reference: str | None, input_device: str | None, max_seconds: float | None, save: Path | None, paths: list[Path],
                      out: Console, err: Console, quiet: bool, debug: bool, verbose: bool = False) -> None:
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
                  live, paths, out, err, quiet, verbose)


def register(app: typer.Typer) -> None:
    out, err = Console(), Console(stderr=True)

    @app.command("stream")
    def stream(
        audio: Annotated[Optional[str], typer.Option("-a", "--audio", help="The audio file to play (default: the bundled sample).")] = None,
        reference: Annotated[Optional[str], typer.Option("--reference", help="Reference text, or a .txt file (default: a .txt beside the audio).")] = None,
        model: opt.ModelOption = "tiny.en",
        backends: opt.BackendsOption = None,
        chunk: Annotated[Optional[list[str]], typer.Option("--chunk", help="Seconds of audio per step, e.g. 1 or 0.5,1,2 (one row each).")] = None,
        agreement: Annotated[int, typer.Option("--agreement", help="LocalAgreement-n: how many hypotheses in a row must agree before a word is committed (2: whisper_streaming's).")] = 2,
        clock: Annotated[Optional[ClockChoice], typer.Option("--clock", help="simulated (the default for a file): fast and reproducible (computation-unaware latency); real: at the speed of speech (computation-aware); both. --mic: real.")] = None,
        mic: Annotated[bool, typer.Option("--mic", help="Stream the microphone live to the first backend (Enter stops), then replay the recording to the others on the real clock.")] = False,
        input_device: Annotated[Optional[str], typer.Option("--input-device", help="--mic: input device index or name (default: the system's).")] = None,
        max_seconds: Annotated[float, typer.Option("--max-seconds", help="--mic: stop after this many seconds (0: only on Enter).")] = 300.0,
        save: Annotated[Optional[Path], typer.Option("--save", help="--mic: also write the recording (16 kHz mono), e.g. take.wav.")] = None,
        language: opt.LanguageOption = "en",
        beam_size: opt.BeamOption = 1,
        device: opt.DeviceOption = "auto",
        threads: opt.ThreadsOption = None,
        timeout: opt.TimeoutOption = 900.0,
        output: opt.OutputOption = None,
        quiet: opt.QuietOption = False,
        verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Also print what the backends' libraries printed.")] = False,
        debug: opt.DebugOption = False,
    ) -> None:
        """Play a file to each backend in chunks, as if live: latency per word, stability, streamed vs offline WER."""
        from ..audio import bundled_sample, load_clip, resolve_reference
        from ..backends.base import LoadOptions
        from ..bench.streaming.records import Clock
        from ..bench.streaming.session import StreamRequest, run_stream
        from ..models import catalog
        from ..results import DecodeOptions
        from ..bench.arguments import check_language

        chunks = parse_chunks(chunk)
        check_seconds("--timeout", timeout)
        if mic:
            check_live_options(audio, clock, max_seconds, save)
        elif input_device is not None or save is not None:
            raise BadOption("--input-device and --save go with --mic")
        if beam_size < 1:
            raise BadOption(f"--beam-size must be at least 1 (got {beam_size})")
        if threads is not None and threads < 1:
            raise BadOption(f"--threads must be at least 1 (got {threads})")
        paths = check_stream_outputs(split_csv(output))
        model_name = catalog.resolve(model)
        check_language(language, model_name)
        classes, notes = backend_choice(tuple(backends or ()))
        decode = DecodeOptions(language=None if language == "auto" else language, beam_size=beam_size)
        if agreement < 2:
            raise BadOption(f"--agreement must be at least 2 hypotheses (got {agreement})")
        if mic:
            stream_microphone(
                model=model_name, backends=classes, notes=notes, decode=decode, load_options=LoadOptions(device=device, threads=threads),
                chunks=chunks, agreement=agreement, timeout=timeout, reference=resolve_reference(reference), input_device=input_device,
                max_seconds=max_seconds or None, save=save, paths=paths, out=out, err=err, quiet=quiet, debug=debug, verbose=verbose,
            )
            return
        clip = load_clip(audio or bundled_sample(), resolve_reference(reference))
        clock = clock or ClockChoice.simulated
        clocks = (Clock.SIMULATED, Clock.REAL) if clock is ClockChoice.both else (Clock(clock.value),)
        request = StreamRequest(
            model=model_name, backends=classes, decode=decode,
            load_options=LoadOptions(device=device, threads=threads), clip=clip, chunk_sizes=chunks, clocks=clocks, timeout_s=timeout,
            agreement=agreement,
        )
        for note in notes:
            err.print(note, markup=False, highlight=False)

        live = LiveTranscript(err, enabled=not quiet and err.is_terminal)
        callbacks = stream_callbacks(live, err, quiet, debug)
        report_stream(lambda: run_stream(request, **callbacks), live, paths, out, err, quiet, verbose)
