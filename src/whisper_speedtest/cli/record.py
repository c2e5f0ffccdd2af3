"""The ``record`` command: capture from the microphone until Enter, then benchmark the recording."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from ..bench.arguments import DEFAULTS
from . import options as opt
from .benchmark import BenchmarkOptions, prepare, run_and_report
from .output import print_notes

if TYPE_CHECKING:
    from ..recorder import MeterReading, Recorder, Recording, StreamFactory

# Injection points for tests: a fake input device and a fake "Enter" drive the real command.
# None means the real ones: sounddevice's default input, and Enter on stdin.
stream_factory: StreamFactory | None = None
stop_signal: Callable[[], threading.Event] | None = None

METER_WIDTH = 30
METER_RANGE_DB = 60.0  # the bar spans -60 dBFS (empty) to 0 dBFS (full)


def render_meter(reading: MeterReading, hint: str = "press Enter to stop") -> Text:
    """One line: elapsed time, a level bar (green, yellow near the top, red when clipping) and the dB value."""
    from ..recorder import LEVEL_FLOOR_DB

    level = reading.level
    fraction = min(1.0, max(0.0, (level.rms_db + METER_RANGE_DB) / METER_RANGE_DB))
    filled = round(fraction * METER_WIDTH)
    color = "red" if level.clipping else "yellow" if level.rms_db > -12 else "green"
    minutes, seconds = divmod(reading.elapsed_s, 60)
    line = Text()
    line.append("● REC ", style="bold red")
    line.append(f"{int(minutes):02d}:{seconds:04.1f}  ")
    line.append("█" * filled, style=color)
    line.append("░" * (METER_WIDTH - filled), style="dim")
    db = "  -inf dB" if level.rms_db <= LEVEL_FLOOR_DB else f"{level.rms_db:6.1f} dB"
    line.append(f" {db}")
    if level.clipping:
        line.append("  CLIPPING", style="bold red")
    if reading.overflows:
        line.append(f"  {reading.overflows} overflow(s)", style="yellow")
    line.append(f"   {hint}", style="dim")
    return line


def capture(recorder: Recorder, err: Console, *, quiet: bool, max_seconds: float | None) -> Recording:
    """Record with a live meter on stderr until Enter (or ``max_seconds``).

    The meter appears once the device is open, so a missing device prints only its error line.
    """
    import sys

    from rich.live import Live

    from ..recorder import enter_pressed

    stop = (stop_signal or enter_pressed)()
    interactive = stop_signal is not None or sys.stdin.isatty()
    limit = f"stops by itself after {max_seconds:g} s" if max_seconds else ""
    hint = "Enter stops" + (f" · {limit}" if limit else "") if interactive else (limit or "Ctrl-C stops") + " (stdin is not a terminal)"
    if quiet:
        return recorder.record(stop, max_seconds=max_seconds)
    live = Live(console=err, refresh_per_second=12, transient=False, auto_refresh=True)

    def show(reading: MeterReading) -> None:
        if not live.is_started:
            live.start()
        live.update(render_meter(reading, hint))

    try:
        return recorder.record(stop, on_meter=show, max_seconds=max_seconds)
    finally:
        if live.is_started:
            live.stop()


def _device_argument(value: str | None) -> int | str | None:
    if value is None or not value.strip():
        return None
    return int(value) if value.strip().isdigit() else value.strip()


def register(app: typer.Typer) -> None:
    out, err = Console(), Console(stderr=True)

    @app.command("record")
    def record(
        model: opt.ModelOption = DEFAULTS.model,
        backends: opt.BackendsOption = None,
        implementations: opt.ImplementationsOption = None,
        runs: opt.RunsOption = None,
        budget: opt.BudgetOption = DEFAULTS.budget,
        warmup: opt.WarmupOption = DEFAULTS.warmup,
        save: Annotated[Optional[Path], typer.Option("--save", help="Also write the recording (16 kHz mono), e.g. take.wav.")] = None,
        reference: Annotated[Optional[str], typer.Option("--reference", help="What was said (text or a .txt file), to score WER.")] = None,
        input_device: Annotated[Optional[str], typer.Option("--input-device", help="Input device index or name (default: the system's).")] = None,
        max_seconds: Annotated[float, typer.Option("--max-seconds", help="Stop recording after this many seconds (0: only on Enter).")] = 300.0,
        language: opt.LanguageOption = DEFAULTS.language,
        beam_size: opt.BeamOption = DEFAULTS.beam_size,
        previous_text: opt.PreviousTextOption = DEFAULTS.previous_text,
        quant: opt.QuantOption = None,
        fallback: opt.FallbackOption = DEFAULTS.fallback,
        device: opt.DeviceOption = DEFAULTS.device,
        threads: opt.ThreadsOption = None,
        timeout: opt.TimeoutOption = DEFAULTS.timeout,
        weights: opt.WeightsOption = DEFAULTS.weights.value,
        output: opt.OutputOption = None,
        history: opt.HistoryOption = True,
        quiet: opt.QuietOption = False,
        verbose: opt.VerboseOption = False,
        debug: opt.DebugOption = False,
    ) -> None:
        """Record from the microphone until Enter, then benchmark the recording like any other audio."""
        from ..audio import resolve_reference
        from ..errors import AudioError, check_seconds
        from ..recorder import Recorder, check_save_path, recording_name, save_recording

        check_seconds("--max-seconds", max_seconds, zero_allowed=True)
        options = BenchmarkOptions(
            model=model, backends=tuple(backends or ()), implementations=tuple(implementations or ()), runs=runs, budget=budget, warmup=warmup, language=language, beam_size=beam_size,
            previous_text=previous_text, quant=tuple(quant or ()), fallback=fallback, device=device, threads=threads,
            timeout=timeout, outputs=tuple(output or ()), weights=weights,
        )
        prepared = prepare(options)  # every option is checked before the microphone opens
        print_notes(prepared.notes, err)
        if save is not None:
            check_save_path(save)
        reference_text = resolve_reference(reference)
        recorder = Recorder(stream_factory=stream_factory, device=_device_argument(input_device))
        recording = capture(recorder, err, quiet=quiet, max_seconds=max_seconds or None)
        if recording.duration_s < 0.1:
            raise AudioError(f"the recording is too short to benchmark ({recording.duration_s:.2f} s)")
        if not quiet:
            err.print(f"recorded {recording.duration_s:.1f} s" + (f" ({recording.overflows} input overflow(s): some audio was dropped)" if recording.overflows else ""))
        name, path = recording_name(), "(microphone, not saved)"
        if save is not None:
            save_recording(save, recording)
            name, path = save.name, str(save)
            if not quiet:
                err.print(f"saved {save}")
        clip = recording.to_clip(name, path, reference_text)
        run_and_report(
            prepared.request.with_clips([clip]), prepared.output_paths, out=out, err=err, quiet=quiet, verbose=verbose, debug=debug, keep_history=history,
        )
