"""Bad input: one line on stderr, exit code 2, no traceback, nothing already written is lost."""

import pytest

from tests.conftest import JFK, run_cli


def _truncated(tmp_path):
    data = JFK.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 3])
    return str(path)


def _junk(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"\x00\x01garbage" * 200)
    return str(path)


def _empty(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    return str(path)


BINARY = b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary"


def _manifest(tmp_path, line: bytes):
    path = tmp_path / "set.jsonl"
    path.write_bytes(b'{"audio": "%s", "text": "fine"}\n' % str(JFK).encode() + line + b"\n")
    return str(path)


def _binary_reference(tmp_path):
    path = tmp_path / "ref.txt"
    path.write_bytes(BINARY)
    return str(path)


def _audio_with_binary_sidecar(tmp_path):
    audio = tmp_path / "speech.wav"
    audio.write_bytes(JFK.read_bytes())
    (tmp_path / "speech.txt").write_bytes(BINARY)
    return str(audio)


CASES = {
    "missing audio": (lambda d: ["-a", str(d / "missing.wav")], "not found"),
    "empty audio": (lambda d: ["-a", _empty(d)], "empty"),
    "truncated audio": (lambda d: ["-a", _truncated(d)], "truncated"),
    "not audio": (lambda d: ["-a", _junk(d)], "cannot decode"),
    "unknown backend": (lambda d: ["-b", "whisper-9000"], "valid backends"),
    "unknown model": (lambda d: ["-m", "gigantic"], "valid models"),
    "zero runs": (lambda d: ["-n", "0"], "--runs"),
    "negative runs": (lambda d: ["-n", "-3"], "--runs"),
    "runs not a number": (lambda d: ["-n", "many"], "--runs"),
    "zero beam": (lambda d: ["--beam-size", "0"], "--beam-size"),
    "bad output type": (lambda d: ["-o", str(d / "out.xlsx")], "it writes .json, .csv, .md, .html, .png"),
    "bad timeout": (lambda d: ["--timeout", "-1"], "--timeout"),
    "timeout nan": (lambda d: ["--timeout", "nan"], "--timeout must be a positive number"),
    "timeout inf": (lambda d: ["--timeout", "inf"], "--timeout must be a positive number"),
    "manifest line not UTF-8": (lambda d: ["-a", _manifest(d, b'{"audio": "x.wav", "text": "caf\xe9"}')], "set.jsonl:2 is not UTF-8"),
    "manifest text not a string": (lambda d: ["-a", _manifest(d, b'{"audio": "%s", "text": 123}' % str(JFK).encode())],
                                   "set.jsonl:2: 'text' must be a string (got int 123)"),
    "binary --reference file": (lambda d: ["--reference", _binary_reference(d)], "ref.txt is not UTF-8"),
    "binary .txt beside the audio": (lambda d: ["-a", _audio_with_binary_sidecar(d)], "speech.txt is not UTF-8"),
    "unknown language": (lambda d: ["--language", "klingon"], "Whisper language code"),
    "language an English-only model lacks": (lambda d: ["-m", "tiny.en", "--language", "de"], "English-only"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    make_args, message = CASES[case]
    previous = tmp_path / "previous.json"
    previous.write_text('{"kept": true}')
    result = run_cli("benchmark", "-o", str(previous), *make_args(tmp_path), timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert previous.read_text() == '{"kept": true}'


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("benchmark", "-a", str(tmp_path / "missing.wav"), "--debug", timeout=120)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "not found" in result.stderr
