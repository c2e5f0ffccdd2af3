"""Option checking before any work: batch size only applies where it was asked for."""

import pytest

from tests.conftest import DATA
from whisper_speedtest.cli.benchmark import BenchmarkOptions, prepare
from whisper_speedtest.errors import BadOption


def test_plain_benchmark_leaves_batching_to_the_backend():
    request = prepare(BenchmarkOptions()).request
    assert request.load_options.batch_size is None and request.dataset is None


def test_cuda_graphs_are_on_unless_turned_off():
    assert prepare(BenchmarkOptions()).request.load_options.backend_option("cuda_graphs") is True
    assert prepare(BenchmarkOptions(cuda_graphs=False)).request.load_options.backend_option("cuda_graphs") is False


def test_languages_are_whisper_codes_or_auto():
    assert prepare(BenchmarkOptions(model="base", language="de")).request.settings.language == "de"
    assert prepare(BenchmarkOptions(model="tiny.en", language="auto")).request.settings.language is None
    for bad in (BenchmarkOptions(language="xx"), BenchmarkOptions(model="tiny.en", language="fr")):
        with pytest.raises(BadOption):
            prepare(bad)


def test_language_list_is_the_one_openai_whisper_ships():
    tokenizer = pytest.importorskip("whisper.tokenizer", reason="openai-whisper not installed")
    from whisper_speedtest.models.catalog import WHISPER_LANGUAGES

    assert WHISPER_LANGUAGES == tuple(tokenizer.LANGUAGES)


def test_dataset_mode_defaults_to_batches_of_16_and_reads_only_headers():
    request = prepare(BenchmarkOptions(dataset=str(DATA / "utterances" / "manifest.jsonl"))).request
    assert request.batch_size == 16 and request.load_options.batch_size == 16
    entries = request.dataset.entries
    assert len(entries) == 12 and all(e.duration_s > 1 and e.reference for e in entries)


@pytest.mark.parametrize("options", [BenchmarkOptions(batch_size=0), BenchmarkOptions(quant=("int3",)), BenchmarkOptions(device="tpu")])
def test_bad_values_are_user_errors(options):
    with pytest.raises(BadOption):
        prepare(options)


def test_a_set_read_through_datasets_without_the_library_is_one_line():
    """``datasets`` hidden from this interpreter (or not installed): an hf: spec is one line, exit 2."""
    import subprocess
    import sys

    hide = "import sys; sys.modules['datasets'] = None; from whisper_speedtest.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", hide, "benchmark", "--dataset", "hf:openslr/librispeech_asr:clean:test", "--no-history"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("error: --dataset hf:openslr/librispeech_asr:clean:test is read through the datasets library, "
                             "which is not installed: pip install 'whisper-speedtest[datasets]'\n")
