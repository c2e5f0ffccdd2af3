"""How many timed runs a backend gets: an exact count (``-n``), or a time budget in hyperfine's manner.

Pure: the worker asks it once the first pass is timed, and the parent asks it how long a first
pass may run before the backend is stopped as slower than real time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..results import DecodeSettings

DEFAULT_BUDGET_S = 3.0  # hyperfine's default minimum benchmarking time
DEFAULT_MIN_RUNS = 3
DEFAULT_MAX_RUNS = 10


@dataclass(frozen=True)
class RunCount:
    """The timed runs decided for one backend, and why when it is fewer than the minimum."""

    runs: int
    note: str = ""


@dataclass(frozen=True)
class RunPolicy:
    """``exact`` runs when given; otherwise at least ``min_runs``, no more once ``budget_s`` of timed
    runs is spent, at most ``max_runs``; a backend slower than real time gets one run and a note."""

    exact: int | None = None
    budget_s: float = DEFAULT_BUDGET_S
    min_runs: int = DEFAULT_MIN_RUNS
    max_runs: int = DEFAULT_MAX_RUNS
    in_sweep: bool = False  # a row of a --quant sweep: never stopped, one timed run when slow

    def for_sweep(self) -> RunPolicy:
        """This policy for the rows of a ``--quant`` sweep: the float16 row is the baseline every other variant's
        WER change is measured against, and that change needs each variant's transcript, so none is stopped."""
        from dataclasses import replace

        return replace(self, in_sweep=True)

    @classmethod
    def of(cls, settings: DecodeSettings) -> RunPolicy:
        """The policy a run's settings ask for (``budget_s`` None: exactly ``runs``)."""
        if settings.budget_s is None:
            return cls(exact=settings.runs)
        return cls(None, settings.budget_s, settings.runs, settings.max_runs or max(settings.runs, DEFAULT_MAX_RUNS))

    def count(self, pass_s: float, audio_s: float) -> RunCount:
        """Timed runs, given one pass over every clip took ``pass_s`` for ``audio_s`` of audio."""
        if self.exact is not None:
            return RunCount(self.exact)
        if audio_s > 0 and pass_s > audio_s:
            kept = "measured to the end, as every row of a --quant sweep: " if self.in_sweep else ""
            return RunCount(
                1,
                f"{kept}slower than real time here (RTFx {audio_s / pass_s:.2f} in the first pass): 1 timed run instead of "
                f"at least {self.min_runs}; -n sets an exact count",
            )
        fitting = int(self.budget_s // pass_s) if pass_s > 0 else self.max_runs
        return RunCount(max(self.min_runs, min(self.max_runs, fitting)))

    def first_pass_limit(self, audio_s: float) -> float | None:
        """Seconds one transcription of ``audio_s`` may run, before any run finished, before the backend is
        stopped: past both the audio's length (so surely slower than real time) and the budget. None with -n,
        and in a --quant sweep (its rows are compared with each other)."""
        if self.exact is not None or self.in_sweep:
            return None
        return max(audio_s, self.budget_s)

    def stopped_note(self, audio_s: float, waited_s: float) -> str:
        """The reason of a row stopped by :meth:`first_pass_limit`."""
        return (
            f"slower than real time here: one pass over {audio_s:.1f} s of audio was still running after {waited_s:.1f} s "
            f"(RTFx < {audio_s / waited_s:.2f}); stopped to keep the run short; -n 1 or --budget {max(60, int(waited_s * 6))} measures it"
        )
