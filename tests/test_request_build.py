"""``BenchmarkRequest.build`` is the one way to a request: every default in ``BenchmarkArguments``, every
message naming the flag through ``FLAGS``, and the commands taking their defaults from there."""

import dataclasses
import re
from pathlib import Path

import click
import pytest
import typer

from whisper_speedtest.bench.arguments import DEFAULTS, FLAGS, PYTHON_ONLY, BenchmarkArguments
from whisper_speedtest.bench.request import BenchmarkRequest
from whisper_speedtest.cli.app import app
from whisper_speedtest.errors import BadOption
from whisper_speedtest.models.catalog import DEFAULT_MODEL
from whisper_speedtest.models.weights_mode import WeightsMode

SRC = Path(__file__).resolve().parent.parent / "src" / "whisper_speedtest"


def _command(name: str) -> click.Command:
    return typer.main.get_command(app).commands[name]


def test_every_field_has_its_flag_and_every_flag_is_the_commands_own():
    assert set(FLAGS) == {f.name for f in dataclasses.fields(BenchmarkArguments)}
    options = {opt for param in _command("benchmark").params for opt in param.opts + param.secondary_opts}
    assert {flag for field, flag in FLAGS.items() if field not in PYTHON_ONLY} - options == set()


@pytest.mark.parametrize("command", ["benchmark", "record"])
def test_the_commands_take_their_defaults_from_the_arguments(command):
    by_field = {"synthetic": "synthetic_weights"}
    params = {param.name: param for param in _command(command).params}
    compared = 0
    for field in dataclasses.fields(BenchmarkArguments):
        param = params.get(by_field.get(field.name, field.name))
        if param is None or field.name in ("backends", "quant"):  # comma lists: empty either way
            continue
        default = getattr(DEFAULTS, field.name)
        assert param.default == (default.value if isinstance(default, WeightsMode) else default), field.name
        compared += 1
    assert compared >= (20 if command == "benchmark" else 10)


def test_defaults_make_the_plain_run():
    request = BenchmarkRequest.build()
    assert request.model == DEFAULT_MODEL == "tiny.en" and request.weights is WeightsMode.SAME
    assert request.settings.timeout_s == DEFAULTS.timeout and request.settings.budget_s == DEFAULTS.budget
    assert request.quantizations == (None,) and request.clips == ()


def test_build_maps_arguments_onto_the_request():
    request = BenchmarkRequest.build(model="large", backends=("faster-whisper", "faster-whisper"), runs=4,
                                     quant=("int8", "int4"), threads=2, weights="same")
    assert request.model == "large-v3"  # resolved once, here
    assert [cls.name for cls in request.backends] == ["faster-whisper"]
    assert request.settings.runs == 4 and request.settings.budget_s is None
    assert request.quantizations == ("int8", "int4") and request.load_options.threads == 2


def test_python_only_arguments_are_named_by_their_field():
    with pytest.raises(BadOption, match="^ray_decoders must be at least 1"):
        BenchmarkRequest.build(dataset=str(Path(__file__).parent / "data" / "utterances" / "manifest.jsonl"),
                               ray=True, ray_decoders=0)
    with pytest.raises(BadOption, match="^graph_speedups: unknown graph-decoder speed-up 'fast'"):
        BenchmarkRequest.build(graph_speedups=("compact", "fast"))


def test_graph_speedups_reach_the_backend_options_once_each_and_only_when_asked():
    from whisper_speedtest.backends.transformers.options import GRAPH_SPEEDUPS

    asked = BenchmarkRequest.build(graph_speedups=("compact", "overlap+compile", "compact")).load_options
    assert asked.backend_option(GRAPH_SPEEDUPS) == ("compact", "overlap", "compile")
    assert BenchmarkRequest.build(graph_speedups=("current",)).load_options.backend_option(GRAPH_SPEEDUPS) is None
    assert BenchmarkRequest.build().load_options.backend_option(GRAPH_SPEEDUPS) is None


def test_weights_modes_are_spelled_only_in_their_enum():
    spelled = [f"{path.relative_to(SRC)}:{number}"
               for path in SRC.rglob("*.py")
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
               if re.search(r"""["'](same|native)["']""", line)]
    assert spelled == ["models/weights_mode.py:15", "models/weights_mode.py:16"]
