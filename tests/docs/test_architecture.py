"""The "add a feature" walkthrough of docs/architecture.md works as written.

The diff in the doc is applied to a copy of the core and its tests, and the toy signal's
own test is run there: when the core moves on and the walkthrough no longer applies or no
longer passes, this fails and the doc is brought up to date.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]


def _walkthrough_diff() -> str:
    doc = (REPO / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"```diff\n(.*?)```", doc, flags=re.S)
    assert len(blocks) == 1, "docs/architecture.md should hold exactly one diff: the walkthrough"
    return blocks[0]


def test_the_toy_signal_of_the_walkthrough_applies_and_passes(tmp_path: Path) -> None:
    shutil.copytree(REPO / "models", tmp_path / "models")
    (tmp_path / "tests" / "models").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "tests" / "conftest.py")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "walkthrough.diff").write_text(_walkthrough_diff())
    applied = subprocess.run(
        ["git", "apply", "--verbose", "walkthrough.diff"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/models",
         "-k", "vague"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 passed" in run.stdout
