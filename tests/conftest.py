"""Shared fixtures: an isolated data folder and MLflow store, a simulated world, a trained model.

Every test session runs against its own temporary data folder and SQLite MLflow store, so no
test touches a developer's ``data/``. The model is trained once per session through the same
``flrisk train`` code path users run, and registered as ``flrisk@champion``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

FAST_CONFIG = """
[lightgbm]
num_boost_round = 150
learning_rate = 0.1
[evaluation]
bootstrap = 50
"""

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="flrisk-tests-"))


def pytest_configure(config: pytest.Config) -> None:
    os.environ["FLRISK_DATA_DIR"] = str(_SESSION_DIR / "data")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_SESSION_DIR / 'data' / 'mlflow.db'}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    (_SESSION_DIR / "data").mkdir(parents=True, exist_ok=True)
    if "MUTANT_UNDER_TEST" in os.environ:
        _one_lightgbm_thread()


def _one_lightgbm_thread() -> None:
    """Cap LightGBM at one thread under mutmut, which forks a test process per mutant.

    libgomp's thread pool does not survive ``fork``: once the parent has run LightGBM on
    two threads, a child that does so again waits forever, and mutmut counts the timeout
    as a killed mutant. With one thread no pool is started; predictions are the same.
    """
    import ctypes

    from lightgbm.basic import _LIB

    _LIB.LGBM_SetMaxThreads(ctypes.c_int(1))


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated world of 40,000 lines (train.csv, score.csv, truth.csv, tips.csv)."""
    from pipelines.simulate import run

    out = tmp_path_factory.mktemp("sim")
    run(out=out, lines=40_000, seed=5)
    return out


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "train.toml"
    path.write_text(FAST_CONFIG)
    return path


@pytest.fixture(scope="session")
def registered_model(sim_dir: Path, fast_config: Path) -> SimpleNamespace:
    """``flrisk train`` on the simulated history, registered and promoted to @champion."""
    from models.contract.reader import read_entry_lines
    from models.settings import get_settings
    from pipelines.train import train_command

    get_settings.cache_clear()
    settings = get_settings()
    uri = train_command(
        data=[sim_dir / "train.csv"],
        mapping=None,
        name=settings.model_name,
        config=fast_config,
        truth=sim_dir / "truth.csv",
        use_feedback=False,
        promote_alias="champion",
        allow_bad_rows=False,
        tips=sim_dir / "tips.csv",
    )
    score_lines = read_entry_lines(sim_dir / "score.csv").frame
    return SimpleNamespace(
        settings=settings,
        uri=uri,
        sim_dir=sim_dir,
        score_lines=score_lines.head(300).copy(),
        all_score_lines=score_lines,
    )


@pytest.fixture()
def make_lines():
    """Build validated :class:`~models.contract.batch.Lines` of three ordinary lines.

    Keyword arguments replace a column (one value per line, ``None`` for missing), so a
    test states only what it is about: ``make_lines(goods_description=["GOODS", ...])``.
    """
    from models.contract.validate import validate_lines

    base = {
        "entry_id": ["E1", "E1", "E2"],
        "line_no": ["1", "2", "1"],
        "entry_date": ["2025-01-10", "2025-01-10", "2025-02-01"],
        "hts_code": ["6109.10.0012", "5201000000", "8471300100"],
        "country_of_origin": ["CN", "CN", "DE"],
        "manufacturer_name": ["ACME TEXTILE CO", "ACME TEXTILE CO", "MUELLER GMBH"],
        "manufacturer_address": [
            "5 Road, Ningbo, Zhejiang, China",
            "5 Road, Ningbo, Zhejiang, China",
            "Hauptstr. 1, Berlin, Germany",
        ],
        "goods_description": ["COTTON T-SHIRTS", "RAW COTTON", "LAPTOP COMPUTERS"],
        "quantity": ["100", "50", "3"],
        "declared_value_usd": ["1000", "400", "3000"],
        "gross_weight_kg": ["200", "100", "12"],
    }

    def build(**columns: list[str | None]):
        result = validate_lines({**base, **columns}, source="test")
        assert result.bad_rows.empty, result.bad_rows.to_dict("records")
        return result.lines

    return build
