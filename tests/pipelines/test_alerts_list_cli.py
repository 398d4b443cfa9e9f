"""``flrisk alerts list`` with drift alerts: the kind filter and the drift line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.alerts.drift import DriftWindow, raise_drift_alert
from models.audit_rows import ModelStamp
from models.scoring.drift import DriftReport, MeasureDrift
from models.store import Alerts, AuditStore
from pipelines.cli import app


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditStore:
    from models.settings import get_settings

    monkeypatch.setenv("FLRISK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    (tmp_path / "data").mkdir()
    s = AuditStore(get_settings().audit_store_url())
    s.create()
    yield s
    get_settings.cache_clear()


def test_drift_alerts_are_listed_and_filtered_by_kind(store: AuditStore) -> None:
    report = DriftReport((MeasureDrift("presumption", 1.63, "yes", 0.011, 0.403),), 5384, 9, 0.2)
    window = DriftWindow(5384, 10_000, "2026-12-03T09:00:00+00:00", "2026-12-03T10:00:00+00:00")
    raise_drift_alert(store, ModelStamp("models:/flrisk/4", "h4"), report, window)
    Alerts(store).add([{"alert_key": "k-line", "kind": "matched", "entry_id": "E-1",
                        "line_no": 1, "party_role": "manufacturer", "party_name": "X",
                        "entity_id": "U-1", "entity_name": "Y", "list": "UFLPA",
                        "effective_date": "2025-01-01", "similarity": 97.0,
                        "reference_version": "0002", "score_then": 0.1}])  # fmt: skip
    runner = CliRunner()
    both = runner.invoke(app, ["alerts", "list"])
    assert both.exit_code == 0, both.output
    assert "2 alert(s)" in both.output
    drift = runner.invoke(app, ["alerts", "list", "--kind", "drift"])
    assert drift.exit_code == 0, drift.output
    assert "drift    model models:/flrisk/4 episode 1: presumption PSI 1.630" in drift.output
    assert "(threshold 0.2, 5384 lines)" in drift.output and "1 alert(s)" in drift.output
    as_json = runner.invoke(app, ["alerts", "list", "--kind", "drift", "--json"])
    (line,) = as_json.output.strip().splitlines()
    assert json.loads(line)["type"] == "drift_alert"
    bad = runner.invoke(app, ["alerts", "list", "--kind", "weather"])
    assert bad.exit_code != 0 and "--kind must be" in bad.output
