import json
import re
from pathlib import Path

import pandas as pd
import pycountry
import pytest

from models.reference import tables as reference
from models.reference.hs import hs_exists

SHARED_ILAB = Path("/work/shared/reference/ilab-goods-list-2022.csv")


@pytest.mark.parametrize("name", reference.TABLES)
def test_tables_have_their_documented_schema(name):
    loader = getattr(reference, f"load_{name}")
    table = loader()
    assert tuple(table.columns) == reference.SCHEMAS[name]
    assert table[reference.SCHEMAS[name][0]].is_unique
    assert (table["source"].str.strip() != "").all()


def test_every_entity_has_a_citation_and_a_known_list():
    entities = reference.load_entities()
    assert len(entities) > 100
    assert (entities["citation"].str.strip() != "").all()
    assert set(entities["list"]) <= {"UFLPA", "WRO", "FINDING"}
    assert entities["effective_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(entities["list"]) == {"UFLPA", "WRO", "FINDING"}


def test_entity_countries_are_iso_alpha2():
    for code in reference.load_entities()["country"].unique():
        assert pycountry.countries.get(alpha_2=code) is not None, code


def test_seed_rows_keep_their_ids():
    entities = reference.load_entities().set_index("entity_id")
    assert entities.loc["UFLPA-0001", "name"].startswith("Hoshine Silicon Industry (Shanshan)")
    assert entities.loc["UFLPA-0002", "name"] == "Xinjiang Production and Construction Corps"
    goods = reference.load_risk_goods().set_index("rule_id")
    assert tuple(goods.loc["RG-0001", ["hs_prefix", "country"]]) == ("5201", "CN")


def test_every_risk_goods_prefix_is_an_hs2022_heading_or_subheading():
    goods = reference.load_risk_goods()
    assert goods["hs_prefix"].str.len().isin([4, 6]).all()
    bad = [p for p in goods["hs_prefix"] if not hs_exists(p)]
    assert bad == []
    assert (goods["hs_prefix"].str[:2].astype(int).between(1, 97)).all()


def test_risk_goods_bases_countries_and_rationales():
    goods = reference.load_risk_goods()
    assert set(goods["basis"]) == {"ilab_forced_labor", "ilab_derived", "uflpa_priority"}
    for code in goods["country"].unique():
        assert code == "" or pycountry.countries.get(alpha_2=code) is not None, code
    assert (goods["rationale"].str.len() > 20).all()
    priority = goods[goods["basis"] == "uflpa_priority"]
    assert set(priority["country"]) <= {"CN", ""}
    assert {"cotton and apparel", "polysilicon and solar", "tomatoes", "aluminium", "PVC"} <= set(
        priority["sector"]
    )
    assert (priority.loc[priority["sector"] == "seafood", "country"] == "").all()


@pytest.mark.skipif(not SHARED_ILAB.exists(), reason="shared ILAB list not available")
def test_every_ilab_forced_labour_good_is_mapped():
    ilab = pd.read_csv(SHARED_ILAB, dtype=str)
    listed = ilab[(ilab["forced_labor"] == "Yes") | (ilab["forced_child_labor"] == "Yes")]
    goods = reference.load_risk_goods()
    mapped = goods[goods["basis"] == "ilab_forced_labor"]
    have = set(zip(mapped["good"], mapped["country"], strict=True))
    fix = {"Burma": "MM", "Congo, Democratic Republic of the": "CD", "Russia": "RU"}
    missing = []
    for good, country in zip(listed["good"], listed["country"], strict=True):
        code = fix.get(country) or pycountry.countries.lookup(country).alpha_2
        if (good, code) not in have:
            missing.append((good, country))
    assert missing == []
    derived = ilab[ilab["derived_labor_exploitation"] == "Yes"]
    assert set(derived["good"]) <= set(goods.loc[goods["basis"] == "ilab_derived", "good"])


def test_places_postal_prefixes_are_xinjiang_and_kinds_known():
    places = reference.load_xinjiang_places()
    assert places["postal_prefix"].str.fullmatch(r"8[34]\d{0,4}").all()
    assert set(places["kind"]) <= {"region", "prefecture", "county", "city"}
    for variant in ["Xinjiang", "XUAR", "Kashi", "Hetian", "Khotan", "Wulumuqi", "Ürümqi", "新疆"]:
        assert variant in set(places["variant"]), variant
    prefectures = set(places.loc[places["kind"] == "prefecture", "canonical"])
    assert {
        "Urumqi",
        "Kashgar",
        "Hotan",
        "Aksu",
        "Ili",
        "Turpan",
        "Hami",
        "Bayingolin",
    } <= prefectures


def test_versions_are_declared_and_stable():
    first = reference.reference_versions()
    reference.clear_caches()
    second = reference.reference_versions()
    assert first == second
    for name in reference.TABLES:
        assert re.fullmatch(r"\d{4}\.\d{2}(\.\d{2})?\+[0-9a-f]{12}", first[name]), first[name]
    declared = json.loads((reference.data_dir() / "versions.json").read_text())
    assert all(declared[name]["source"] for name in reference.TABLES)


def test_data_dir_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv(reference.ENV_DIR, str(tmp_path))
    # An empty root serves the shipped tables (the first version) ...
    assert reference.data_dir() == reference.shipped_dir()
    # ... tables kept flat in it win over them, and a CURRENT pointer over both.
    (tmp_path / "entities.csv").write_text("entity_id\n")
    assert reference.data_dir() == tmp_path
    (tmp_path / "CURRENT").write_text("0002-20260101T000000\n")
    assert reference.data_dir() == tmp_path / "versions" / "0002-20260101T000000"
    monkeypatch.delenv(reference.ENV_DIR)
    assert (reference.data_dir() / "entities.csv").is_file()
