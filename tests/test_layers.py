"""The layers of ARCHITECTURE.md hold: nothing imports upward, no two modules import each other, few floors.

Read with grimp (import-linter's graph builder), which sees every import, function-level and
TYPE_CHECKING ones included. Layers, top to bottom: cli, board, report, bench, backends, environments, models,
models.formats; leaf modules import only other leaves. ARCHITECTURE.md's last section lists these
rules; keep the two in step.
"""

import collections

import pytest

grimp = pytest.importorskip("grimp", reason="grimp comes with the test extra")

LAYERS = ("cli", "board", "report", "bench", "backends", "environments", "models", "models.formats")
LEAVES = ("audio", "results", "errors", "atomic", "version", "interrupts", "progress", "child_messages", "safe_read", "plain_text")
MAX_FLOORS = 10


def _part(module: str) -> str:
    parts = module.split(".")[1:]
    if parts[:2] == ["models", "formats"]:
        return "models.formats"
    return parts[0] if parts else "whisper_speedtest"


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("whisper_speedtest")


@pytest.fixture(scope="module")
def arrows(graph):
    """(importing part, imported part) -> one (module, module) example."""
    found = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = _part(module), _part(imported)
            if a != b:
                found.setdefault((a, b), (module, imported))
    return found


def test_no_module_imports_one_that_imports_it_back(graph):
    circles = [
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(importer=imported, imported=module)
    ]
    assert circles == []


def test_no_arrow_runs_back_up(arrows):
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [example for (a, b), example in arrows.items() if a in rank and b in rank and rank[b] < rank[a]]
    assert upward == []
    from_leaves = [example for (a, b), example in arrows.items() if a in LEAVES and b not in LEAVES]
    assert from_leaves == []
    into_the_package_api = [example for (a, b), example in arrows.items() if b == "whisper_speedtest"]
    assert into_the_package_api == []


def test_at_most_ten_floors(arrows):
    below = collections.defaultdict(set)
    for a, b in arrows:
        below[a].add(b)
    floors = {}

    def floor(part):
        if part not in floors:
            floors[part] = 1 + max((floor(b) for b in below[part]), default=0)
        return floors[part]

    assert max(floor(part) for part in list(below)) <= MAX_FLOORS
    assert floor("cli") > floor("bench") > floor("backends") > floor("models") > floor("models.formats")


def test_the_code_map_names_every_layer_and_leaf():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [name for name in (*LAYERS, *LEAVES) if f"`{name}`" not in text]
    assert missing == []
