"""whisper.cpp streamed with the real pywhispercpp and the bundled tiny.en weights (converted to ggml), simulated clock.

Its default token timestamps failed the streaming policy: with the committed text as prompt, the last
word of a short buffer ended at the 30 s window's end ("day." from 0.00 to 30.00 s in a 1.8 s buffer cut
at 15.18 s of the long-form passage), so the committed text "ended" 30 s ahead of the audio and every
hypothesis until then was dropped as already committed (the streamed WER was 0.49 against 0.11 offline).
"""

import pytest

from tests.conftest import DATA
from whisper_speedtest.audio import SAMPLE_RATE, load_clip
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench import scoring
from whisper_speedtest.bench.streaming.policy import LocalAgreement
from whisper_speedtest.results import DecodeOptions

pytest.importorskip("pywhispercpp", reason="whisper.cpp extra not installed: pip install 'whisper-speedtest[whisper-cpp]'")
pytestmark = pytest.mark.integration

PROMPT = "the market is already busy with cooks and sharp owners who want the best fish on the"


@pytest.fixture(scope="module")
def longform():
    return load_clip(DATA / "longform.wav")


@pytest.fixture(scope="module")
def whisper_cpp():
    from whisper_speedtest.backends.loader import load_with_fallback
    from whisper_speedtest.bench.plan import plan_backend

    cls = get_backend("whisper.cpp")
    if not cls.available().ok:
        pytest.skip(cls.available().reason)
    plan = plan_backend(cls, "tiny.en", LoadOptions(threads=2), lambda text: None)
    backend = cls()
    load_with_fallback(backend, plan.variant, plan.load_options)
    yield backend
    backend.close()


def test_word_times_with_a_prompt_stay_inside_the_buffer_and_follow_the_speech(longform, whisper_cpp):
    start = int(15.18 * SAMPLE_RATE)
    short = longform.samples[start:start + int(1.82 * SAMPLE_RATE)]  # "day. The baker o…", cut mid-word
    words = whisper_cpp.transcribe_words(short, DecodeOptions(), PROMPT).words
    assert words and all(0 <= w.start <= w.end <= 1.82 for w in words), words
    longer = longform.samples[start:start + int(10.8 * SAMPLE_RATE)]
    words = whisper_cpp.transcribe_words(longer, DecodeOptions(), PROMPT).words
    ends = [w.end for w in words]
    assert len(words) > 25 and ends == sorted(ends) and ends[-1] <= 10.8
    # The words are spread over the speech, not piled up at the buffer's end.
    assert sum(1 for e in ends if e > 10.8 - 1.0) <= 4, words


def test_a_stream_trimmed_early_keeps_committing_and_stays_near_offline(longform, whisper_cpp):
    """The policy itself on 14 s, trimming past 5 s instead of 15 s, so the committed text is a prompt from the start."""
    samples = longform.samples[: 14 * SAMPLE_RATE]
    policy = LocalAgreement(lambda buffer, prompt: whisper_cpp.transcribe_words(buffer, DecodeOptions(), prompt), trim_s=5.0)
    steps = []
    for start in range(0, len(samples), SAMPLE_RATE):
        out = policy.step(samples[start:start + SAMPLE_RATE])
        heard = min(len(samples), start + SAMPLE_RATE) / SAMPLE_RATE
        assert all(w.end <= heard + 1e-6 for w in out.committed + out.tentative), (heard, out)  # nothing timed past the audio heard
        steps.append(out)
    assert policy.offset_s > 0  # it trimmed, so later steps had a prompt
    assert sum(1 for out in steps[8:] if out.committed) >= 3  # and words kept coming after it
    policy.finish()
    offline = whisper_cpp.transcribe(samples, DecodeOptions()).text
    streamed = "".join(w.text for w in policy.committed)
    assert scoring.score(offline, streamed).wer <= 0.2, (streamed, offline)
