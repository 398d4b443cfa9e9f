"""Safe model loads: the registry's hashes, tree structure, and the child that loads first."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bundletools import malform_child, malform_native, rehash, tamper_leaf

from models.scoring import check
from models.scoring.bundle import (
    MODEL_FILE,
    ModelIntegrityError,
    manifest_bundle_hash,
    verify_bundle,
)
from models.scoring.check import check_in_child, check_trees
from models.scoring.lookup import ResolvedModel, check_registered

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "scoring" / "bundle"
V7 = ResolvedModel(name="flrisk", version="7", alias=None)


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "bundle"))


def test_registry_hash_must_match_the_loaded_bundle(bundle_dir: Path) -> None:
    registered = rehash(bundle_dir)  # the fixture's manifest, as training recorded it
    model_hash = verify_bundle(bundle_dir)["files"][MODEL_FILE]
    check_registered(verify_bundle(bundle_dir), V7, {"bundle_hash": registered,
                                                     "model_hash": model_hash})  # fmt: skip
    tampered = tamper_leaf(bundle_dir)  # a valid model, its manifest re-hashed
    manifest = verify_bundle(bundle_dir)  # the manifest agrees with the files...
    with pytest.raises(ModelIntegrityError) as err:  # ...but not with the registry
        check_registered(manifest, V7, {"bundle_hash": registered, "model_hash": model_hash})
    msg = str(err.value)
    assert msg.startswith("models:/flrisk/7: ") and "refusing model" in msg
    assert f"bundle hash {tampered} != {registered} recorded in the registry" in msg
    assert f"{MODEL_FILE} hash {manifest['files'][MODEL_FILE]} != {model_hash}" in msg
    with pytest.raises(ModelIntegrityError, match="has no bundle_hash tag in the registry"):
        check_registered(manifest, V7, {})


def test_tree_structure_is_checked_before_lightgbm_walks_it(bundle_dir: Path) -> None:
    model = bundle_dir / MODEL_FILE
    assert check_trees(model.read_text()) == 40
    text = model.read_text()
    with pytest.raises(
        ModelIntegrityError, match=r"tree 0: split on feature 999\d*, the model has features 0..74"
    ):
        check_trees(text.replace("split_feature=", "split_feature=999", 1))
    with pytest.raises(ModelIntegrityError, match=r"tree 0: \d+ leaves need \d+ nodes"):
        check_trees(text.replace("num_leaves=", "num_leaves=9", 1))
    with pytest.raises(ModelIntegrityError, match="no max_feature_idx"):
        check_trees("not a model\n")
    malform_child(bundle_dir)  # LightGBM loads it; scoring some lines would loop or crash
    with pytest.raises(ModelIntegrityError, match="tree 0: node 9 is reached twice"):
        check_trees(model.read_text())


def test_child_process_loads_first_and_takes_the_native_abort(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check, "_PASSED", set())  # what other tests' children said
    good_hash = manifest_bundle_hash(verify_bundle(FIXTURE))
    assert check_in_child(FIXTURE, timeout_s=300, bundle_hash=good_hash) > 0  # loaded, scored
    bad_hash = malform_native(bundle_dir)  # LightGBM would abort this very process
    with pytest.raises(ModelIntegrityError) as err:
        check_in_child(bundle_dir, timeout_s=300, bundle_hash=bad_hash)
    msg = str(err.value)
    assert "the child was killed by SIGABRT" in msg and "Model format error" in msg
    assert str(bundle_dir) not in msg  # no temporary path in the reason
    assert os.getpid() > 0  # ...and this process is still here to say so

    # The same bytes again (a server retrying its refused champion): no new child.
    def no_child(*_a: object, **_k: object) -> None:
        raise AssertionError("a second child for a bundle already refused")

    with monkeypatch.context() as m:
        m.setattr(subprocess, "run", no_child)
        with pytest.raises(ModelIntegrityError, match="SIGABRT"):
            check_in_child(bundle_dir, timeout_s=300, bundle_hash=bad_hash)
        assert check_in_child(FIXTURE, timeout_s=300, bundle_hash=good_hash) == 0.0
    # A child that does not finish in time is killed, and the bundle refused.
    with pytest.raises(ModelIntegrityError, match=r"did not finish within 0.01 s"):
        check_in_child(FIXTURE, timeout_s=0.01)
