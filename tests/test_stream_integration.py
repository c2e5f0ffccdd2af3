"""Streaming with the real faster-whisper and the bundled tiny.en weights, on the simulated clock."""

import json
import re

import numpy as np
import pytest

from tests.conftest import DATA, JFK
from whisper_speedtest.audio import load_clip, manifest_pairs
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench import scoring
from whisper_speedtest.bench.streaming import metrics
from whisper_speedtest.bench.streaming.session import StreamRequest, run_stream
from whisper_speedtest.cli.app import main
from whisper_speedtest.results import DecodeOptions

pytest.importorskip("faster_whisper", reason="faster-whisper extra not installed: pip install 'whisper-speedtest[faster-whisper]'")
pytestmark = pytest.mark.integration

VARIED = ("clips/v033.flac", "clips/v049.flac", "clips/v065.flac")
# tiny.en guesses the end of a short buffer boldly: under LocalAgreement-2 two such guesses in a row often
# agree ("If you're right, start" for "If your rights have been"), and streamed WER doubles (0.21 against
# 0.10 offline on these clips at 1 s chunks, 0.144 against 0.090 on the long-form at 2 s). A third
# hypothesis (LocalAgreement-3) gave the offline text on these clips; the figures are in benchmarks/results.
AGREEMENT = 3


def _stream(clip, chunk_s, agreement=AGREEMENT):
    request = StreamRequest("tiny.en", (get_backend("faster-whisper"),), DecodeOptions(), LoadOptions(threads=2), clip, (chunk_s,),
                            in_process=True, agreement=agreement)
    (row,) = run_stream(request).rows
    assert row.status == "ok", row.reason
    return row


def _commit_clocks_never_go_back(row):
    clocks = [clock for _, _, clock in metrics.committed_words(row.passes[0])]
    assert clocks and clocks == sorted(clocks)


def test_longform_streamed_at_two_second_chunks_with_local_agreement_3_stays_within_005_of_offline_wer():
    row = _stream(load_clip(DATA / "longform.wav"), 2.0)
    _commit_clocks_never_go_back(row)
    f = row.figures
    assert f.final_wer - f.offline_wer <= 0.05, (f.final_wer, f.offline_wer)
    assert f.unaware.n > 100 and 0 < f.unaware.median_s < f.unaware.p90_s  # most words are timed
    assert f.rtf > 0 and row.peak_rss_mb > 50


def test_varied_clips_streamed_at_one_second_chunks_with_local_agreement_3_stay_within_005_of_offline_wer():
    pairs = dict((path.name, (path, text)) for path, text in manifest_pairs(DATA / "varied" / "manifest.jsonl"))
    rows, references = [], []
    for name in VARIED:
        path, text = pairs[name.split("/")[-1]]
        rows.append(_stream(load_clip(path, text), 1.0))
        references.append(text)
    for row in rows:
        _commit_clocks_never_go_back(row)
    streamed = scoring.score_many(references, [r.committed_text for r in rows]).wer
    offline = scoring.score_many(references, [r.offline_text for r in rows]).wer
    assert streamed - offline <= 0.05, (streamed, offline)


def test_the_json_events_reproduce_the_printed_latencies(tmp_path, capsys):
    out = tmp_path / "stream.json"
    code = main(["stream", "-a", str(JFK), "-b", "faster-whisper", "--chunk", "1", "-o", str(out), "-o", str(tmp_path / "s.html"), "-q"])
    printed = capsys.readouterr().out
    assert code == 0
    data = json.loads(out.read_text())
    (row,) = data["rows"]
    # Recomputed from the events alone: each committed word, in order, matched in order to the alignment's words.
    committed = [(w["text"], step["clock_s"]) for step in row["passes"][0]["steps"] for w in step["committed"]]
    reference = [(w["text"], w["end"]) for w in data["alignment"]["words"]]

    def key(text):
        return re.sub(r"[^\w']+", "", text.lower())

    import difflib

    a, b = [key(t) for t, _ in committed], [key(t) for t, _ in reference]
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    latencies = [committed[blk.a + k][1] - reference[blk.b + k][1] for blk in blocks for k in range(blk.size) if a[blk.a + k]]
    median, p90, first = np.median(latencies), np.percentile(latencies, 90), latencies[0]
    assert f"{median:.2f}/{p90:.2f}/{first:.2f}" in printed
    assert row["figures"]["unaware"]["median_s"] == pytest.approx(median)
    assert "<svg" in (tmp_path / "s.html").read_text()


def test_silence_commits_nothing_and_times_nothing():
    from whisper_speedtest.audio import AudioClip

    silence = AudioClip("silence.wav", "silence.wav", np.zeros(6 * 16_000, dtype=np.float32))
    row = _stream(silence, 1.0)
    assert row.committed_text == "" and row.figures.unaware is None
    assert all(not step.committed for step in row.passes[0].steps)
