"""``flrisk drift`` and ``flrisk shadow-report`` through the command line."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from models.store import AuditStore, ShadowScores
from pipelines.cli import app


def _drift(uri, data, *extra):
    return CliRunner().invoke(app, ["drift", "--model", uri, "--data", str(data), *extra])


def test_later_months_of_the_same_world_have_not_drifted(registered_model):
    res = _drift(registered_model.uri, registered_model.sim_dir / "score.csv")
    assert res.exit_code == 0, res.output
    assert "nothing moved beyond the threshold" in res.output
    assert "score PSI" in res.output and "country_of_origin" in res.output


def _rows(registered_model) -> list[dict[str, str]]:
    with (registered_model.sim_dir / "score.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write(rows: list[dict[str, str]], path):
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _presumption_line(output: str) -> str:
    return next(ln for ln in output.splitlines() if ln.startswith("presumption rate"))


def test_the_presumption_rate_is_measured_and_steady_in_later_months(registered_model):
    res = _drift(registered_model.uri, registered_model.sim_dir / "score.csv")
    assert res.exit_code == 0, res.output
    line = _presumption_line(res.output)
    assert "in training" in line and "MOVED" not in line
    table = {ln.split()[0]: ln for ln in res.output.splitlines() if ln.startswith("presumption")}
    assert {"presumption", "presumption_xinjiang", "presumption_uflpa_entity",
            "presumption_wro"} <= set(table)  # fmt: skip


def test_many_lines_naming_xinjiang_move_the_presumption_rate_and_exit_3(
    registered_model, tmp_path
):
    rows = _rows(registered_model)
    # Two lines in five now declare a manufacturer in Urumqi: presumed (the UFLPA's
    # Xinjiang rule, on their entry dates), whatever else the model makes of them.
    for i, row in enumerate(rows):
        if i % 5 < 2:
            row["manufacturer_address"] = "No. 8 Youhao Road, Urumqi, Xinjiang, China"
    res = _drift(registered_model.uri, _write(rows, tmp_path / "xinjiang.csv"))
    assert res.exit_code == 3, res.output
    line = _presumption_line(res.output)
    assert "MOVED" in line
    before, now = (float(x.rstrip("%")) for x in line.split()[2:6:3])
    assert now >= 40.0 > before  # the rate now counts the Xinjiang lines
    moved = next(ln for ln in res.output.splitlines() if ln.startswith("moved ("))
    assert "presumption" in moved.split(": ", 1)[1].split(", ")
    assert "presumption_xinjiang" in moved


def test_shifted_origins_and_goods_are_named_and_exit_3(registered_model, tmp_path):
    rows = _rows(registered_model)
    # Half the lines now come from Vietnam and declare solar cells (HS 8541.43).
    for i, row in enumerate(rows):
        if i % 2 == 0:
            row["country_of_origin"] = "VN"
            row["hts_code"] = "8541430010"
    shifted = _write(rows, tmp_path / "shifted.csv")
    res = _drift(registered_model.uri, shifted)
    assert res.exit_code == 3, res.output
    moved = next(line for line in res.output.splitlines() if line.startswith("moved ("))
    assert "country_of_origin" in moved and "hs_chapter" in moved
    origin = next(line for line in res.output.splitlines() if line.startswith("country_of_origin"))
    assert "MOVED" in origin
    # A looser threshold lets the same file pass.
    assert _drift(registered_model.uri, shifted, "--threshold", "1000").exit_code == 0


def test_bad_input_is_a_plain_error_with_exit_2(registered_model, tmp_path):
    res = _drift(registered_model.uri, tmp_path / "missing.csv")
    assert res.exit_code == 2
    assert "flrisk: error: --data" in res.output and "Traceback" not in res.output
    res = _drift("models:/no-such-model@champion", registered_model.sim_dir / "score.csv")
    assert res.exit_code == 2 and "flrisk: error:" in res.output
    empty = tmp_path / "empty.csv"
    empty.write_text((registered_model.sim_dir / "score.csv").read_text().splitlines()[0] + "\n")
    res = _drift(registered_model.uri, empty)
    assert res.exit_code == 2 and "no valid line" in res.output


def test_shadow_report_prints_the_figures_of_kept_shadow_scores(registered_model):
    from models.audit_rows import AuditRows

    store = AuditStore(registered_model.settings.audit_store_url())
    rows = [
        {"ts": "2030-01-01T00:00:00+00:00", "request_id": "shadow-cli", "entry_id": "S",
         "line_no": i, "champion_version": "models:/flrisk/1", "champion_score": s,
         "champion_band": "low", "challenger_version": "models:/flrisk/9",
         "challenger_score": 1 - s, "challenger_band": "low"}
        for i, s in enumerate([0.1, 0.2, 0.3, 0.4], start=1)
    ]  # fmt: skip
    ShadowScores(store).record(rows, AuditRows("shadow-cli", "-").event("shadow_score"))
    res = CliRunner().invoke(app, ["shadow-report", "--since", "2030-01-01", "--top", "0.5"])
    assert res.exit_code == 0, res.output
    assert "challenger models:/flrisk/9 beside champion models:/flrisk/1" in res.output
    assert "same risk band          100.0%" in res.output
    assert "rank correlation        -1.000" in res.output
    assert "top-2 overlap          0.0%" in res.output
    assert (
        "no shadow scores since 2031-01-01"
        in CliRunner().invoke(app, ["shadow-report", "--since", "2031-01-01"]).output
    )
    bad = CliRunner().invoke(app, ["shadow-report", "--since", "yesterday"])
    assert bad.exit_code == 1 and "is not a date" in bad.output
