"""The model format shared by training and serving: no pickle, every file hashed.

A bundle is a folder:

- ``model.lgb``: LightGBM's native text model;
- ``feature_state.json``: the fitted :class:`~models.features.matrix.FeatureState`;
- ``drift.json`` (models trained since drift monitoring): the reference bins of every
  input and the score (:class:`~models.scoring.psi.DriftReference`);
- ``manifest.json``: SHA-256 of the files, calibration, risk-band thresholds, reference
  table versions, metrics and provenance.

``load_bundle`` recomputes the hashes and refuses a bundle whose files do not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import UserError
from models.features.matrix import FeatureState
from models.scoring.psi import DriftReference

if TYPE_CHECKING:
    import lightgbm as lgb

MODEL_FILE = "model.lgb"
STATE_FILE = "feature_state.json"
MANIFEST_FILE = "manifest.json"
DRIFT_FILE = "drift.json"
BUNDLE_FORMAT = 1


class ModelIntegrityError(UserError, RuntimeError):
    """A bundle's files do not match the hashes in its manifest, or a file is missing."""

    hint = (
        "The model's files are not the ones it was saved with: register it again "
        "(flrisk train) or restore the MLflow artifacts from a backup."
    )


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Calibration:
    """Platt scaling of the model's raw margin: ``p = 1 / (1 + exp(-(a * margin + b)))``."""

    a: float = 1.0
    b: float = 0.0
    method: str = "platt"
    fitted_on: str = ""


@dataclass
class ModelBundle:
    """A trained model with everything needed to score and explain it."""

    booster: lgb.Booster
    state: FeatureState
    calibration: Calibration
    thresholds: dict[str, float]
    reference_versions: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)
    model_hash: str = ""
    state_hash: str = ""
    num_threads: int = 2
    # The reference of drift monitoring; None for a model trained before it existed.
    drift: DriftReference | None = None
    # The folder it was loaded from (None: built in memory), for processes that load it too.
    folder: Path | None = None

    @property
    def bundle_hash(self) -> str:
        """One hash naming this exact model and feature state."""
        return hashlib.sha256(f"{self.model_hash}:{self.state_hash}".encode()).hexdigest()


def save_bundle(bundle: ModelBundle, folder: Path) -> Path:
    """Write a bundle folder and return it; hashes are computed from the written bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / MODEL_FILE
    state_path = folder / STATE_FILE
    bundle.booster.save_model(str(model_path), num_iteration=-1)
    state_path.write_text(json.dumps(bundle.state.to_json(), sort_keys=True, separators=(",", ":")))
    bundle.model_hash = sha256_file(model_path)
    bundle.state_hash = sha256_file(state_path)
    files = {MODEL_FILE: bundle.model_hash, STATE_FILE: bundle.state_hash}
    if bundle.drift is not None:
        drift_path = folder / DRIFT_FILE
        drift_path.write_text(json.dumps(bundle.drift.to_json(), separators=(",", ":")))
        files[DRIFT_FILE] = sha256_file(drift_path)
    manifest = {
        "format": BUNDLE_FORMAT,
        "files": files,
        "calibration": bundle.calibration.__dict__,
        "thresholds": bundle.thresholds,
        "reference_versions": bundle.reference_versions,
        "meta": bundle.meta,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return folder


def verify_bundle(folder: Path) -> dict[str, Any]:
    """Check every file of a bundle against its manifest's SHA-256; return the manifest.

    Reads and hashes files only: nothing is parsed by LightGBM.

    Raises:
        ModelIntegrityError: A file is missing or its hash differs from the manifest.
    """
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ModelIntegrityError(f"no {MANIFEST_FILE} in {folder}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as exc:
        raise ModelIntegrityError(f"{MANIFEST_FILE} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise ModelIntegrityError(f"bundle format {got} != {BUNDLE_FORMAT}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not {MODEL_FILE, STATE_FILE} <= files.keys():
        raise ModelIntegrityError(f"{MANIFEST_FILE} does not list {MODEL_FILE} and {STATE_FILE}")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ModelIntegrityError(f"{name} missing from {folder}")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{name} hash {actual[:12]} does not match manifest {str(expected)[:12]}: "
                "refusing model"
            )
    return manifest


def manifest_bundle_hash(manifest: Mapping[str, Any]) -> str:
    """The :attr:`ModelBundle.bundle_hash` of the bundle a verified manifest describes."""
    files = manifest["files"]
    return hashlib.sha256(f"{files[MODEL_FILE]}:{files[STATE_FILE]}".encode()).hexdigest()


def load_bundle(folder: Path, num_threads: int = 2) -> ModelBundle:
    """Load a bundle after checking every file against the manifest's SHA-256.

    LightGBM parses the model in native code, where some malformed files abort the process:
    a long-running process first has :func:`models.scoring.check.check_in_child` try it.

    Args:
        folder: Bundle folder (as written by :func:`save_bundle`).
        num_threads: LightGBM threads for prediction, set explicitly (the default is slow
            for small batches).

    Raises:
        ModelIntegrityError: A file is missing or its hash differs from the manifest.
    """
    manifest = verify_bundle(folder)
    # Imported here, not at the top: the server first imports it without the scikit-learn
    # integration it never uses (serving.memory.import_lean).
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    state = FeatureState.from_json(json.loads((folder / STATE_FILE).read_text()))
    drift = None
    if DRIFT_FILE in manifest["files"]:  # verified above with the other files
        drift = DriftReference.from_json(json.loads((folder / DRIFT_FILE).read_text()))
    return ModelBundle(
        booster=booster,
        state=state,
        calibration=Calibration(**manifest["calibration"]),
        thresholds={k: float(v) for k, v in manifest["thresholds"].items()},
        reference_versions=manifest["reference_versions"],
        meta=manifest.get("meta", {}),
        model_hash=manifest["files"][MODEL_FILE],
        state_hash=manifest["files"][STATE_FILE],
        num_threads=num_threads,
        drift=drift,
        folder=folder,
    )
