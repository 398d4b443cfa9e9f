"""The pipelines package's shape: no import cycles (hidden or not), short modules, thin adapters."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "pipelines"
# The simulator is its own package, owned separately; the CLI imports lazily for a fast --help.
MODULES = sorted(p for p in ROOT.glob("*.py") if p.name != "__init__.py")
LAZY_OK = {"cli", "backtest_cli"}  # verbs import their pipelines when run: `--help` stays fast


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """pipelines.* modules imported at module level, and inside functions."""
    tree = ast.parse(path.read_text())
    top: set[str] = set()
    inner: set[str] = set()
    nested = {
        id(n)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipelines."):
            names = {node.module.split(".")[1]}
        elif isinstance(node, ast.Import):
            names = {a.name.split(".")[1] for a in node.names if a.name.startswith("pipelines.")}
        else:
            continue
        (inner if id(node) in nested else top).update(names)
    return top, inner


def test_no_function_level_imports_of_pipelines_modules():
    hidden = {p.stem: _imports(p)[1] for p in MODULES if p.stem not in LAZY_OK}
    assert {m: i for m, i in hidden.items() if i} == {}


def _all_imports(path: Path) -> set[str]:
    top, inner = _imports(path)
    return (top | inner) - {"simulate"}


def test_no_import_cycles_even_through_function_level_imports():
    graph = {p.stem: _all_imports(p) for p in MODULES}

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(m) :], m]))
        for n in graph.get(m, ()):
            visit(n, [*path, m])

    for m in graph:
        visit(m, [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_are_readable_in_one_sitting(path):
    assert len(path.read_text().splitlines()) < 450


def test_registry_only_talks_to_mlflow():
    assert not _all_imports(ROOT / "registry.py") & {
        "report",
        "promote",
        "cli",
        "train",
        "fit",
        "evaluate",
    }
    assert "def write_reports" not in (ROOT / "registry.py").read_text()


def test_evaluation_never_imports_training_and_scoring_engines_stay_apart():
    assert not _all_imports(ROOT / "evaluate.py") & {"train", "fit"}
    assert "score" not in _all_imports(ROOT / "spark_score.py")
