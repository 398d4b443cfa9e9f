import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

from models.reference import tables as reference
from pipelines import reference_cli
from pipelines.cli import app


@pytest.fixture
def tables(tmp_path, monkeypatch):
    folder = tmp_path / "tables"
    shutil.copytree(reference.data_dir(), folder)
    monkeypatch.setenv(reference.ENV_DIR, str(folder))
    reference.clear_caches()
    yield folder
    monkeypatch.delenv(reference.ENV_DIR)
    reference.clear_caches()


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_show_prints_versions_counts_and_breakdowns(tables, capsys):
    reference_cli.show()
    out = capsys.readouterr().out
    assert "entities: version 2025.10+" in out
    assert "list=UFLPA:" in out
    assert "kind=prefecture:" in out
    assert "basis=uflpa_priority:" in out
    assert "6940 codes" in out


def test_update_risk_goods_from_a_local_file(tables, tmp_path):
    new = tmp_path / "goods.csv"
    new.write_text(
        "rule_id,hs_prefix,good,country,basis,sector,rationale,source\n"
        "RG-1,5201,Cotton,CN,ilab_forced_labor,agriculture,Raw cotton is listed.,ILAB 2024\n"
        "RG-2,2002,Tomato paste,CN,uflpa_priority,tomatoes,Paste is a priority.,UFLPA\n"
    )
    before = _snapshot(tables)
    version = reference_cli.update(str(new), "risk_goods")
    assert len(reference.load_risk_goods()) == 2
    # A new version beside the first (a copy of the tables in use), the pointer on it.
    assert reference.data_dir() == tables / "versions" / version
    assert (tables / "CURRENT").read_text().strip() == version
    versions = json.loads((reference.data_dir() / "versions.json").read_text())
    assert versions["risk_goods"]["source"] == str(new)
    first = tables / "versions" / sorted(p.name for p in (tables / "versions").iterdir())[0]
    assert (first / "risk_goods.csv").read_bytes() == before["risk_goods.csv"]
    assert {p.name: p.read_bytes() for p in tables.iterdir() if p.is_file()} == {
        **before,
        "CURRENT": (tables / "CURRENT").read_bytes(),
    }  # the tables in use before are left as they were
    assert not [p for p in (tables / "versions").iterdir() if p.name.startswith(".")]


def test_update_entities_from_a_simple_json_export(tables, tmp_path):
    export = tmp_path / "uflpa.json"
    export.write_text(
        json.dumps(
            [
                {
                    "name": "Xinjiang Production and Construction Corps",
                    "aliases": ["XPCC"],
                    "citation": "87 FR 1",
                },
                {"name": "Brand New Listed Co., Ltd.", "aliases": [], "citation": "90 FR 2"},
            ]
        )
    )
    reference_cli.update(str(export), None)
    entities = reference.load_entities()
    assert entities["entity_id"].tolist()[0] == "UFLPA-0002"
    assert entities["entity_id"].is_unique
    assert entities.loc[1, "aliases"] == ""
    assert entities.loc[0, "aliases"] == "XPCC"


def test_offline_url_fails_without_touching_tables(tables, capsys):
    before = _snapshot(tables)
    with pytest.raises(typer.Exit) as info:
        reference_cli.update("http://127.0.0.1:9/uflpa-entity-list.csv", "entities")
    assert info.value.exit_code == 2
    assert "cannot fetch" in capsys.readouterr().err
    assert _snapshot(tables) == before


@pytest.mark.parametrize(
    ("table", "content"),
    [
        (
            "risk_goods",
            "rule_id,hs_prefix,good,country,basis,sector,rationale,source\n"
            "RG-1,5299,Cotton,CN,ilab_forced_labor,agri,Because.,ILAB\n",
        ),
        ("entities", "name,aliases\nSome Firm,\n"),  # no citation column
        (
            "entities",
            "entity_id,name,aliases,list,sector,region,country,effective_date,citation,source\n"
            "E-1,Some Firm,,UFLPA,,,CN,2025-01-01,,DHS\n",  # empty citation
        ),
        ("xinjiang_places", "place_id,canonical\nXJ-1,Kashgar\n"),
    ],
)
def test_invalid_publications_are_refused(tables, tmp_path, table, content):
    source = tmp_path / "bad.csv"
    source.write_text(content)
    before = _snapshot(tables)
    with pytest.raises(typer.Exit) as info:
        reference_cli.update(str(source), table)
    assert info.value.exit_code == 1
    assert _snapshot(tables) == before


def test_cli_wiring(tables, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["reference", "update", "--from", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["reference", "show"])
    assert result.exit_code == 0
    assert "risk_goods" in result.output
