"""Rows by a library's own streaming: the bridges' ``--stream`` events (fixture JSON through the fake bridge
executable, a real subprocess) give known figures; parakeet-mlx without its weights is skipped with the reason."""

import numpy as np
import pytest

from tests.test_bridges import FIXTURES, calls, fake_bridge, parakeet_ref, whisperkit_ref  # noqa: F401 (fake_bridge is a fixture)
from whisper_speedtest.audio import AudioClip
from whisper_speedtest.backends.base import DecodeOptions, LoadOptions, TimedWord
from whisper_speedtest.backends.library_stream import LibraryUpdate
from whisper_speedtest.backends.loader import VariantPlan
from whisper_speedtest.backends.swift.bridge import BridgeError
from whisper_speedtest.backends.swift.fluidaudio import FluidAudioBackend
from whisper_speedtest.backends.swift.stream_events import parse_stream_output
from whisper_speedtest.backends.swift.whisperkit import WhisperKitBackend
from whisper_speedtest.bench.streaming import metrics
from whisper_speedtest.bench.streaming.library_job import LibraryStreamJob
from whisper_speedtest.bench.streaming.native import Committer, ConfirmedTextChanged
from whisper_speedtest.bench.streaming.records import Alignment, Clock, Streaming
from whisper_speedtest.bench.streaming.session import StreamRequest, figures_of

TEXT = "And so my fellow Americans, ask not"
# Word ends of the fixtures' audio, as an aligner would give them.
ALIGNMENT = Alignment("scripted", tuple(TimedWord(f" {w}", 0.0, end) for w, end in
                                        zip(TEXT.split(), (0.5, 0.8, 1.2, 1.9, 2.8, 3.5, 4.1))))
SAMPLES = np.random.default_rng(3).uniform(-0.1, 0.1, int(4.4 * 16_000)).astype(np.float32)


def _stream_through_the_bridge(monkeypatch, backend, ref, fixture, clock, decode):
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / fixture))
    reported = []
    job = LibraryStreamJob(backend, VariantPlan("default", ref, ref), LoadOptions(), decode, SAMPLES, 1.0, (clock,))
    outcome = job.run(lambda kind, payload: reported.append((kind, payload)))
    request = StreamRequest("tiny.en", (backend,), decode, LoadOptions(), AudioClip("clip", "clip", SAMPLES, TEXT), clocks=(clock,))
    assert [p for k, p in reported if k == "step"] == [(0, step) for step in outcome.passes[0].steps]  # sent as measured
    return outcome, figures_of(outcome.passes, outcome.offline_text, request, ALIGNMENT, 1.0)


def test_fluidaudio_stream_events_give_known_latencies_revisions_and_wer(fake_bridge, monkeypatch):
    outcome, f = _stream_through_the_bridge(monkeypatch, FluidAudioBackend, parakeet_ref(), "fluidaudio_stream.json", Clock.SIMULATED,
                                            DecodeOptions(language="en"))
    stream_call = calls(fake_bridge)[-1]
    assert stream_call[stream_call.index("--stream"):] == ["--stream", "--chunk", "1", "--clock", "simulated"]
    (stream,) = outcome.passes
    # "fel" is confirmed at 3 s but "low" is not yet: the word is committed only once whole, at 4 s.
    assert [[w.text for w in s.committed] for s in stream.steps] == [[], [" And", " so"], [" my"], [" fellow", " Americans,"], [" ask", " not"]]
    assert [w.text for w in stream.steps[2].tentative] == [" fellow", " Americans,"]
    # And 2.0-0.5, so 2.0-0.8, my 3.0-1.2, fellow 4.0-1.9, Americans 4.0-2.8, ask 4.4-3.5, not 4.4-4.1
    assert (f.unaware.n, f.unaware.unmatched) == (7, 0)
    assert (f.unaware.median_s, f.unaware.first_s) == (pytest.approx(1.2), pytest.approx(1.5))
    assert f.unaware.p90_s == pytest.approx(float(np.percentile([1.5, 1.2, 1.8, 2.1, 1.2, 0.9, 0.3], 90)))
    assert f.revisions_per_min == pytest.approx(1 / (4.4 / 60))  # "fel" became "fellow"
    assert f.final_wer == 0.0 and f.wer_vs_offline == 0.0 and f.aware is None
    assert f.rtf == pytest.approx((0.09 + 0.08 + 0.08 + 0.07 + 0.05) / 4.4)
    assert outcome.params["bridge_stream_api"].startswith("SlidingWindowAsrManager")


def test_whisperkit_stream_on_the_real_clock_gives_computation_aware_latency_and_lag(fake_bridge, monkeypatch):
    _, f = _stream_through_the_bridge(monkeypatch, WhisperKitBackend, whisperkit_ref(), "whisperkit_stream.json", Clock.REAL,
                                      DecodeOptions(language="en"))
    assert calls(fake_bridge)[-1][-2:] == ["--clock", "real"]
    # And 2.9-0.5, so 2.9-0.8, my 4.3-1.2, fellow 4.3-1.9, Americans 6.0-2.8, ask 6.0-3.5, not 6.0-4.1
    assert (f.aware.median_s, f.aware.first_s, f.aware.n) == (pytest.approx(2.4), pytest.approx(2.4), 7)
    assert (f.lag_start_s, f.lag_end_s) == (pytest.approx(0.6), pytest.approx(1.3)) and f.kept_up
    assert f.unaware is None and f.revisions_per_min == pytest.approx(1 / (4.4 / 60))  # "fella" became "fellow"


def test_a_library_that_changes_confirmed_text_fails_with_one_line():
    committer = Committer("some library")
    committer.output(LibraryUpdate((TimedWord(" ask", 0, 1), TimedWord(" not", 1, 2)), (TimedWord(" what", 2, 3),)))
    with pytest.raises(ConfirmedTextChanged, match="some library changed text it had confirmed"):
        committer.output(LibraryUpdate((TimedWord(" ask", 0, 1), TimedWord(" knot", 1, 2)), ()))


def test_a_bridge_without_stream_support_or_with_events_going_back_is_one_line():
    with pytest.raises(BridgeError, match="no stream object .was the bridge built with --stream support"):
        parse_stream_output((FIXTURES / "fluidaudio_ok.json").read_text(), "fluidaudio-bridge")
    text = (FIXTURES / "whisperkit_stream.json").read_text().replace('"clock_s": 2.9', '"clock_s": 0.9')
    with pytest.raises(BridgeError, match=r"stream events go back in time \(clock 1.6 → 0.9 s\)"):
        parse_stream_output(text, "whisperkit-bridge")


def test_parakeet_mlx_without_its_weights_is_skipped_with_the_reason_in_both_rows():
    from whisper_speedtest.backends.parakeet_mlx import ParakeetMlxBackend
    from whisper_speedtest.bench.streaming.session import run_stream

    availability = ParakeetMlxBackend.available()
    if availability.ok:
        pytest.skip("the Parakeet weights are in this machine's Hugging Face cache (the integration test streams them)")
    request = StreamRequest("tiny.en", (ParakeetMlxBackend,), DecodeOptions(), LoadOptions(), AudioClip("clip", "clip", SAMPLES),
                            in_process=True, alignment=ALIGNMENT)
    policy_row, library_row = run_stream(request).rows
    assert policy_row.streaming.value == "policy" and library_row.streaming.value == "library"
    assert library_row.status == "skipped" and library_row.reason == availability.reason and library_row.figures is None
    assert "transcribe_stream" in library_row.policy and not library_row.passes
    assert policy_row.status == "skipped"


@pytest.mark.integration
def test_parakeet_mlx_own_streaming_where_its_weights_are_present():
    from tests.conftest import JFK
    from whisper_speedtest.audio import load_clip
    from whisper_speedtest.backends.parakeet_mlx import ParakeetMlxBackend
    from whisper_speedtest.bench.streaming.session import run_stream

    availability = ParakeetMlxBackend.available()
    if not availability.ok:
        pytest.skip(f"parakeet-mlx cannot run here: {availability.reason}")
    clip = load_clip(JFK, (JFK.parent / "jfk.txt").read_text())
    request = StreamRequest("tiny.en", (ParakeetMlxBackend,), DecodeOptions(language="en"), LoadOptions(), clip, in_process=True)
    library_row = run_stream(request).rows[-1]
    assert library_row.status == "ok", library_row.reason
    clocks = [clock for _, _, clock in metrics.committed_words(library_row.passes[0])]
    assert clocks == sorted(clocks) and library_row.figures.final_wer - library_row.figures.offline_wer <= 0.05


def _tiny_random_parakeet(tmp_path):
    import json

    pytest.importorskip("parakeet_mlx")
    from parakeet_mlx.utils import from_config

    from tests.test_apple_backends import tiny_parakeet_config
    from whisper_speedtest.backends.base import ModelRef

    config = tiny_parakeet_config()
    from_config(config).save_weights(str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(config))
    ref = ModelRef("parakeet-tdt-0.6b-v2", "parakeet", str(tmp_path), "float32", synthetic=True)
    return VariantPlan("default", ref, ref)


def test_without_metal_parakeet_mlx_own_streaming_is_skipped_with_the_reason(tmp_path):
    """On this machine the library's streaming cannot run at all (it calls a Metal kernel): the row says so."""
    import mlx.core as mx

    from whisper_speedtest.backends.parakeet_mlx import ParakeetMlxBackend
    from whisper_speedtest.bench.plan import BackendPlan
    from whisper_speedtest.bench.streaming.session import stream_backend

    if mx.metal.is_available():
        pytest.skip("this MLX has Metal: the library's streaming runs (the next test)")
    plan = BackendPlan(ParakeetMlxBackend, _tiny_random_parakeet(tmp_path), LoadOptions())
    request = StreamRequest("tiny.en", (ParakeetMlxBackend,), DecodeOptions(language="en"), LoadOptions(),
                            AudioClip("clip", "clip", SAMPLES), in_process=True, alignment=ALIGNMENT)
    row = stream_backend(plan, 1.0, request, ALIGNMENT, lambda *_: None, Streaming.LIBRARY)
    assert row.status == "skipped" and "needs Metal" in row.reason and row.figures is None
    # ... and that is what the library does here: its local attention is a Metal kernel.
    backend = ParakeetMlxBackend()
    backend.load(plan.variant.model, LoadOptions())
    stream = backend.open_library_stream(DecodeOptions(language="en"))
    with pytest.raises(RuntimeError, match="Metal"):
        stream.feed(SAMPLES[:16_000])
    stream.close()


def test_parakeet_mlx_own_streaming_runs_the_library_on_a_tiny_random_parakeet(tmp_path):
    """Where Metal is: the real StreamingParakeet on random weights (no figures asserted, only the path)."""
    import mlx.core as mx

    from tests.conftest import JFK
    from whisper_speedtest.audio import load_clip
    from whisper_speedtest.backends.parakeet_mlx import ParakeetMlxBackend

    if not mx.metal.is_available():
        pytest.skip("parakeet-mlx's streaming needs Metal, which this MLX lacks (the test above)")
    samples = load_clip(JFK).samples
    reported = []
    job = LibraryStreamJob(ParakeetMlxBackend, _tiny_random_parakeet(tmp_path), LoadOptions(), DecodeOptions(language="en"), samples, 1.0,
                           (Clock.SIMULATED, Clock.REAL))
    outcome = job.run(lambda kind, payload: reported.append((kind, payload)))
    simulated, real = outcome.passes
    assert [s.audio_end_s for s in simulated.steps] == [float(n) for n in range(1, 12)] + [11.0]
    assert simulated.steps[-1].final and not simulated.steps[-1].tentative  # the end of the audio commits the rest
    for stream in (simulated, real):
        clocks = [s.clock_s for s in stream.steps]
        assert clocks == sorted(clocks)
        assert all(w.end >= w.start for s in stream.steps for w in s.committed)
    assert real.steps[-1].clock_s >= 11.0 - 0.2  # the real clock waited for the speech
    assert outcome.params["stream_context"] == [256, 256]
    assert len([k for k, _ in reported if k == "step"]) == len(simulated.steps) + len(real.steps)
