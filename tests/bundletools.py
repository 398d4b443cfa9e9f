"""Bundles spoiled on purpose: a model file changed and its manifest re-hashed to match.

A module of its own (imported as ``bundletools`` from any test folder: ``tests/`` is on
``sys.path`` through its conftest), used by the model-load tests of models, pipelines,
serving and the reliability suite.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path

from models.scoring.bundle import (
    MANIFEST_FILE,
    MODEL_FILE,
    STATE_FILE,
    ModelBundle,
    save_bundle,
    sha256_file,
)
from models.scoring.check import check_in_child
from models.scoring.lookup import client
from models.settings import Settings


def rehash(folder: Path) -> str:
    """Rewrite the manifest's file hashes from the files; return the new bundle hash."""
    path = folder / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    for name in manifest["files"]:
        manifest["files"][name] = sha256_file(folder / name)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    files = manifest["files"]
    return hashlib.sha256(f"{files[MODEL_FILE]}:{files[STATE_FILE]}".encode()).hexdigest()


def _edit(folder: Path, pattern: str, repl: str) -> str:
    model = folder / MODEL_FILE
    text = model.read_text()
    new, n = re.subn(pattern, repl, text, count=1, flags=re.MULTILINE)
    assert n == 1 and new != text, pattern
    model.write_text(new)
    return rehash(folder)


def tamper_leaf(folder: Path) -> str:
    """A valid model that scores differently: one digit of the first leaf value changed.

    The length is kept, so LightGBM's ``tree_sizes`` still match and it loads silently.
    """

    def flip(m: re.Match[str]) -> str:
        digit = m["d"]
        return f"{m['pre']}{'7' if digit != '7' else '3'}"

    model = folder / MODEL_FILE
    text = model.read_text()
    new = re.sub(r"(?P<pre>^leaf_value=-?\d*\.?\d*?)(?P<d>[0-9])", flip, text, count=1,
                 flags=re.MULTILINE)  # fmt: skip
    assert new != text and len(new) == len(text)
    model.write_text(new)
    return rehash(folder)


def malform_native(folder: Path) -> str:
    """A model LightGBM aborts on (``std::terminate``): a tree one byte longer than its
    ``tree_sizes`` entry. Every tree is still a well-formed tree."""
    return _edit(folder, r"^(split_gain=\S+)", r"\g<1>0")


def malform_child(folder: Path) -> str:
    """A model LightGBM loads without a word but loops or crashes on some lines: the root of
    the first tree points at a child that does not exist (same length, so it parses)."""
    return _edit(folder, r"^left_child=(\d)", "left_child=9")


def record_in_registry(settings: Settings, name: str, version: str, bundle_hash: str) -> None:
    """Make the registry agree with a bundle (as if training had registered it so)."""
    client(settings).set_model_version_tag(name, version, "bundle_hash", bundle_hash)


def checked(bundle: ModelBundle) -> ModelBundle:
    """Have a child process load ``bundle`` now, once for the test process.

    A server has a child load each new bundle before it does (``models/scoring/check.py``)
    and remembers, per process, the bundles that passed; checking a session's bundles up
    front keeps that child's seconds out of the 20 s a test app's start-up waits for its
    model. (Server processes started by tests check for themselves.)
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_bundle(bundle, Path(tmp) / "bundle")
        check_in_child(folder, timeout_s=600, bundle_hash=bundle.bundle_hash)
    return bundle
