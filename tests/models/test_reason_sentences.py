"""Each reason's sentence and evidence, from a line's own values.

Officers read these sentences and check them against the line: the facts in them (names,
codes, countries, amounts, counts) must be the line's own, and the evidence must hold the
same facts. Sentences are checked by the facts they carry, not word for word.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.scoring.explain import SENTENCES, reasons_for

NAN = float("nan")


def say(
    code: str, line: dict[str, object], up: bool = True
) -> tuple[str, dict[str, object]] | None:
    return SENTENCES[code](line, up)  # a dict reads like a line: line.get(name, default)


def test_a_listed_entity_names_the_party_the_list_and_the_citation() -> None:
    line = {
        "mfr_list_sim": 91.6, "shp_list_sim": 40.0,
        "ev_mfr_entity_name": "Hoshine Silicon Industry Co", "ev_mfr_entity_id": "uflpa-12",
        "ev_mfr_entity_alias": "Hoshine Silicon", "ev_mfr_entity_list": "UFLPA",
        "ev_mfr_entity_citation": "89 FR 1234",
    }  # fmt: skip
    text, ev = say("listed_entity", line)
    assert text == (
        "The manufacturer name matches UFLPA listed entity 'Hoshine Silicon Industry Co' "
        "(similarity 92/100, 89 FR 1234)."
    )
    assert ev == {
        "role": "manufacturer", "entity_id": "uflpa-12", "entity": "Hoshine Silicon Industry Co",
        "matched_alias": "Hoshine Silicon", "similarity": 91.6, "list": "UFLPA",
        "citation": "89 FR 1234",
    }  # fmt: skip


def test_the_better_matching_party_is_the_one_named() -> None:
    line = {
        "mfr_list_sim": NAN, "shp_list_sim": 97.04, "ev_shp_entity_name": "Lop County Co",
        "ev_shp_entity_list": "WRO", "ev_shp_entity_citation": "CBP WRO 2021",
        "ev_mfr_entity_name": "Wrong Party",
    }  # fmt: skip
    text, ev = say("listed_entity", line)
    assert ev["role"] == "shipper" and ev["entity"] == "Lop County Co"
    assert ev["similarity"] == 97.0 and ev["entity_id"] == "" and ev["matched_alias"] == ""
    assert "shipper name matches WRO listed entity 'Lop County Co'" in text
    assert "(similarity 97/100, CBP WRO 2021)" in text


def test_no_match_and_no_names_are_told_apart() -> None:
    # A screened name without a match lowers the risk and says which names were screened.
    text, ev = say("listed_entity", {"mfr_list_sim": 55.0, "shp_list_sim": NAN}, up=False)
    assert text == (
        "No match on the entity lists: the manufacturer name does not match any UFLPA or WRO "
        "listed entity."
    )
    assert ev == {"screened": ["manufacturer"]}
    both = {"mfr_list_sim": 55.0, "shp_list_sim": 12.0}
    text, ev = say("listed_entity", both, up=False)
    assert "the manufacturer name and shipper name do not match" in text
    assert ev == {"screened": ["manufacturer", "shipper"]}
    # No match is never a reason to inspect.
    assert say("listed_entity", {"mfr_list_sim": 55.0, "shp_list_sim": NAN}, up=True) is None
    assert say("listed_entity", both, up=True) is None
    # No name declared: nothing was screened, so there is no reason either way.
    for up in (True, False):
        assert say("listed_entity", {"mfr_list_sim": NAN, "shp_list_sim": NAN}, up=up) is None
        assert say("listed_entity", {}, up=up) is None


def test_a_listed_entity_is_said_even_when_it_lowers_the_risk() -> None:
    line = {"mfr_list_sim": 88.0, "ev_mfr_entity_name": "Xinjiang Co",
            "ev_mfr_entity_list": "UFLPA", "ev_mfr_entity_citation": "89 FR 1"}  # fmt: skip
    text, ev = say("listed_entity", line, up=False)
    assert "manufacturer name matches UFLPA listed entity 'Xinjiang Co'" in text
    assert ev["entity"] == "Xinjiang Co" and ev["similarity"] == 88.0


def test_xinjiang_terms_are_listed_once_sorted_with_the_place() -> None:
    line = {"ev_mfr_xj_terms": "kashgar|hotan", "ev_shp_xj_terms": NAN,
            "ev_names_xj_terms": "hotan", "ev_mfr_xj_place": "",
            "ev_shp_xj_place": "Hotan"}  # fmt: skip
    text, ev = say("xinjiang_address", line)
    assert text == "Party names or addresses point to Xinjiang: hotan, kashgar (Hotan)."
    assert ev == {"terms": ["hotan", "kashgar"], "place": "Hotan"}
    text, ev = say("xinjiang_address", {"ev_shp_xj_terms": "urumqi"})
    assert text == "Party names or addresses point to Xinjiang: urumqi."
    assert ev == {"terms": ["urumqi"], "place": ""}
    text, ev = say("xinjiang_address", {}, up=False)
    assert text == "No Xinjiang place name or postal code in the party names or addresses."
    assert ev == {}
    # A finding is said in either direction; finding nothing never raises the risk.
    assert say("xinjiang_address", {"ev_shp_xj_terms": "urumqi"}, up=False)[1]["terms"] == [
        "urumqi"
    ]
    assert say("xinjiang_address", {}, up=True) is None
    # Nothing was checked when no party field is declared; one declared field is enough.
    parties = "manufacturer_name|manufacturer_address|shipper_name"
    assert say("xinjiang_address", {"ev_missing": parties}, up=False) is None
    assert say("xinjiang_address", {"ev_missing": parties + "|hts_code"}, up=False) is None
    for declared in ("manufacturer_name", "manufacturer_address", "shipper_name"):
        some = "|".join(p for p in parties.split("|") if p != declared)
        text, _ = say("xinjiang_address", {"ev_missing": some}, up=False)
        assert text.startswith("No Xinjiang place name"), declared


def test_description_terms() -> None:
    text, ev = say("goods_description", {"ev_desc_terms": "xj cotton|uyghur"})
    assert text == "The goods description contains tell-tale terms: xj cotton, uyghur."
    assert ev == {"terms": ["xj cotton", "uyghur"]}
    text, ev = say("goods_description", {"ev_desc_terms": ""}, up=False)
    assert text == "The goods description has no tell-tale terms." and ev == {}
    text, ev = say("goods_description", {"ev_desc_terms": "uyghur"}, up=False)
    assert "uyghur" in text and ev == {"terms": ["uyghur"]}
    assert say("goods_description", {"ev_desc_terms": ""}, up=True) is None
    # An undeclared description was not checked: no reason either way.
    for up in (True, False):
        assert say("goods_description", {"ev_missing": "goods_description"}, up=up) is None
    text, _ = say("goods_description", {"ev_missing": "shipper_name"}, up=False)
    assert text == "The goods description has no tell-tale terms."


GOODS = {"hs6": "520100", "ev_rg_good": "Cotton", "country_of_origin_raw": "CN",
         "rg_sector": "cotton", "ev_rg_rule_ids": "ilab-7|uflpa-2"}  # fmt: skip


def test_a_risk_good_says_which_list_holds_it() -> None:
    text, ev = say("risk_goods", {**GOODS, "rg_ilab_fl": 1, "rg_priority": 1})
    assert text == (
        "HS 520100 (Cotton) from CN is on the ILAB list of goods produced with forced labour."
    )
    assert ev == {"hs6": "520100", "good": "Cotton", "origin": "CN", "sector": "cotton",
                  "rules": ["ilab-7", "uflpa-2"], "ilab_forced_labor": True,
                  "uflpa_priority": True}  # fmt: skip
    # A listing is said in whichever direction the model took it.
    assert say("risk_goods", {**GOODS, "rg_ilab_fl": 1}, up=False)[0] == text
    text, ev = say("risk_goods", {**GOODS, "rg_ilab_fl": 0, "rg_priority": 1})
    assert text == "HS 520100 is in a UFLPA high-priority sector (cotton)."
    assert (ev["ilab_forced_labor"], ev["uflpa_priority"]) == (False, True)
    for up in (True, False):
        text, ev = say("risk_goods", {**GOODS, "rg_ilab_fl": 0, "rg_priority": 0}, up=up)
        assert "HS 520100 (Cotton)" in text and "other origins or as a derived good" in text
        assert (ev["ilab_forced_labor"], ev["uflpa_priority"]) == (False, False)
    text, ev = say("risk_goods", {"hs6": "940360"}, up=False)
    assert text == "HS 940360 is not a listed forced-labour risk good."
    assert ev["rules"] == [""] and ev["ilab_forced_labor"] is False
    assert ev["uflpa_priority"] is False and "heading" not in ev
    # Raising the risk of an unlisted good: the heading the model rates above average.
    text, ev = say("risk_goods", {"hs6": "940360", "hs_heading": "9403"}, up=True)
    assert text.startswith("HS 940360 is not a listed forced-labour risk good")
    assert "heading 9403 above average" in text
    assert ev["heading"] == "9403" and ev["hs6"] == "940360"


def test_the_route_names_every_country_that_differs_from_the_origin() -> None:
    line = {"country_of_origin_raw": "CN", "country_of_export_raw": "VN",
            "lading_country": "VN", "mfr_addr_country": "CN", "shp_addr_country": NAN,
            "mid_country": "MY"}  # fmt: skip
    text, ev = say("route", line)
    assert text == "Declared origin CN but export VN, lading country VN, mid country MY."
    assert ev == {"origin": "CN", "export": "VN", "lading_country": "VN",
                  "manufacturer_address_country": "CN", "shipper_address_country": "",
                  "mid_country": "MY"}  # fmt: skip
    same = {"country_of_origin_raw": "VN", "country_of_export_raw": "VN"}
    assert say("route", same, up=False)[0] == "Route consistent with declared origin VN (export)."
    assert say("route", same, up=True)[0] == (
        "Shipped straight from the declared origin VN (export)."
    )
    all_same = {**same, "lading_country": "VN", "mid_country": "VN"}
    text, _ = say("route", all_same, up=False)
    assert text.endswith("declared origin VN (export, lading country, mid country).")
    # Nothing to compare the origin with, or no origin: no route reason.
    for up in (True, False):
        assert say("route", {"country_of_origin_raw": "VN"}, up=up) is None
        assert say("route", {"country_of_export_raw": "VN", "lading_country": "CN"}, up=up) is None


def test_origin() -> None:
    assert say("origin", {"country_of_origin_raw": "MY"}) == (
        "Declared country of origin MY.",
        {"origin": "MY"},
    )
    assert say("origin", {"country_of_origin_raw": NAN}) is None
    assert say("origin", {}, up=False) is None


@pytest.mark.parametrize(
    ("unit", "typical", "text"),
    [
        (2.0, 4.0, "Unit value $2.00 is 50% below the typical $4.00"),
        (6.0, 4.0, "Unit value $6.00 is 50% above the typical $4.00"),
        (1230.0, 1000.0, "Unit value $1,230.00 is 23% above the typical $1,000.00"),
        (4.0, 4.0, "Unit value $4.00 is 0% above the typical $4.00"),
    ],
)
def test_unit_value_against_the_typical_value(unit: float, typical: float, text: str) -> None:
    line = {"log_unit_value": math.log(unit), "log_unit_value_typical": math.log(typical),
            "log_unit_value_z": -2.345}  # fmt: skip
    got, ev = say("unit_value", line)
    assert got == text + " for this subheading and origin."
    assert ev == {"unit_value_usd": round(unit, 4), "typical_usd": round(typical, 4),
                  "ratio_to_typical": round(unit / typical, 3), "robust_z": -2.35}  # fmt: skip


@pytest.mark.parametrize(
    "line",
    [
        {},
        {"log_unit_value": NAN, "log_unit_value_typical": 1.0, "log_unit_value_z": 0.1},
        {"log_unit_value": None, "log_unit_value_typical": 1.0, "log_unit_value_z": 0.1},
    ],
)
def test_unit_value_without_a_value_is_no_reason(line: dict[str, object]) -> None:
    # Quantity or value not declared: nothing to compare, so no reason either way.
    assert say("unit_value", line, up=False) is None
    assert say("unit_value", line, up=True) is None


@pytest.mark.parametrize(
    "line",
    [
        {"log_unit_value": 1.0, "log_unit_value_typical": 1.0, "log_unit_value_z": NAN},
        {"log_unit_value": 1.0, "log_unit_value_typical": NAN, "log_unit_value_z": 0.1},
        {"log_unit_value": 1.0, "log_unit_value_typical": None, "log_unit_value_z": 0.1},
        {"log_unit_value": 1.0, "log_unit_value_typical": 1.0, "log_unit_value_z": None},
        {"log_unit_value": 1.0},
    ],
)
def test_unit_value_without_a_typical_value_says_so(line: dict[str, object]) -> None:
    text, ev = say("unit_value", line, up=False)
    assert text == ("Unit value $2.72; no typical value is known for this subheading and origin.")
    assert ev == {"unit_value_usd": round(math.e, 4)}


def test_party_history_counts_are_the_lines_own() -> None:
    # History features are stored as log1p counts, violations as a plain count.
    line = {"imp_key": "I-1", "hist_imp_inspected": math.log1p(3), "hist_imp_violations": 1.0,
            "hist_imp_lines": math.log1p(1200)}  # fmt: skip
    text, ev = say("importer_history", line)
    assert text == "The importer had 1 violation in 3 past inspections over 1,200 lines."
    assert ev == {"prior_lines": 1200, "prior_inspections": 3, "prior_violations": 1}
    # Past inspections lower the risk, with or without a violation.
    assert say("importer_history", line, up=False) == (text, ev)
    one = {"mfr_key": "M-1", "hist_mfr_inspected": math.log1p(1), "hist_mfr_violations": 0.0,
           "hist_mfr_lines": math.log1p(1)}  # fmt: skip
    assert say("manufacturer_history", one, up=False) == (
        "The manufacturer had 0 violations in 1 past inspection over 1 line.",
        {"prior_lines": 1, "prior_inspections": 1, "prior_violations": 0},
    )
    # A clean record with no risky past lines does not raise the risk.
    assert say("manufacturer_history", one, up=True) is None
    # A party never inspected is no evidence either way.
    new = {"shp_key": "S-1", "hist_shp_lines": math.log1p(0.4)}
    for up in (True, False):
        assert say("shipper_history", new, up=up) is None
    seen = {"shp_key": "S-1", "hist_shp_lines": math.log1p(40), "hist_shp_violations": 0.0}
    assert say("shipper_history", seen, up=False) is None
    # A party the line does not name is no evidence, whatever its columns hold.
    for key in ("", None, NAN):
        for up in (True, False):
            assert say("importer_history", {**line, "imp_key": key}, up=up) is None
    assert say("goods_history", {"hist_hs6_inspected": math.log1p(3)}, up=False) is None


def test_risky_past_lines_raise_the_risk_with_their_count() -> None:
    line = {"imp_key": "I-1", "hist_imp_inspected": math.log1p(2), "hist_imp_violations": 0.0,
            "hist_imp_lines": math.log1p(1200), "hist_imp_risky_share": 0.25}  # fmt: skip
    text, ev = say("importer_history", line)
    assert text == (
        "300 past lines of the importer's 1,200 had risky goods, routes or places "
        "(2 past inspections, no violation)."
    )
    assert ev == {"prior_lines": 1200, "prior_inspections": 2, "prior_violations": 0,
                  "prior_risky_lines": 300}  # fmt: skip
    # Lowering the risk rests on the inspections, not on the risky lines.
    assert say("importer_history", line, up=False) == (
        "The importer had 0 violations in 2 past inspections over 1,200 lines.",
        {"prior_lines": 1200, "prior_inspections": 2, "prior_violations": 0},
    )
    never = {"hs6": "520100", "hist_hs6_lines": math.log1p(10), "hist_hs6_risky_share": 0.1}
    text, ev = say("goods_history", never)
    assert text == "1 past line of the subheading's 10 had risky goods, routes or places."
    assert ev["prior_risky_lines"] == 1 and ev["prior_inspections"] == 0
    # A violation comes first; a share that rounds to no line, or none known, is no reason.
    assert say("goods_history", {**never, "hist_hs6_violations": 1.0})[0] == (
        "The subheading had 1 violation in 0 past inspections over 10 lines."
    )
    assert say("goods_history", {**never, "hist_hs6_risky_share": 0.04}) is None
    assert say("goods_history", {**never, "hist_hs6_risky_share": NAN}) is None
    assert say("goods_history", {**never, "hist_hs6_risky_share": 0.0}) is None


def test_missing_fields_and_entry_size() -> None:
    # An undeclared field is the absence of evidence: never a reason either way.
    for up in (True, False):
        assert say("missing_data", {"ev_missing": "manufacturer_name|hts_code"}, up=up) is None
    assert say("missing_data", {"ev_missing": "hts_code"}, up=False) is None
    assert say("missing_data", {}, up=False) == ("All screening fields were declared.", {})
    assert say("missing_data", {"ev_missing": ""}, up=False) == (
        "All screening fields were declared.",
        {},
    )
    assert say("missing_data", {}, up=True) is None
    assert say("entry_shape", {"lines_in_entry": 12}) == (
        "The entry has 12 line(s).",
        {"lines_in_entry": 12},
    )
    assert say("entry_shape", {"lines_in_entry": 1}, up=False) == (
        "The entry has 1 line(s).",
        {"lines_in_entry": 1},
    )
    assert say("entry_shape", {"lines_in_entry": None}) is None


def test_the_shipper_role_rests_on_a_declared_shipper() -> None:
    line = {"shipper_trader": 1.0, "shipper_ne_mfr": 1.0, "shipper_ctry_ne_mfr": 0.0}
    text, ev = say("shipper_role", line)
    assert text == (
        "The shipper is an intermediary: its name reads as a trader or forwarder; "
        "it is not the manufacturer."
    )
    assert ev == {"trader": True, "not_manufacturer": True, "other_country": False}
    assert say("shipper_role", line, up=False) is None  # an intermediary never lowers it
    abroad = {"shipper_ctry_ne_mfr": 1.0}
    assert say("shipper_role", abroad)[0] == (
        "The shipper is an intermediary: it is in another country than the manufacturer."
    )
    itself = {"shipper_trader": 0.0, "shipper_ne_mfr": 0.0}
    assert say("shipper_role", itself, up=True) is None
    assert say("shipper_role", itself, up=False) == (
        "The shipper is the manufacturer itself.",
        {"trader": False, "not_manufacturer": False, "other_country": False},
    )
    # Without a shipper, or a manufacturer to compare it with, there is no such reason.
    for up in (True, False):
        assert say("shipper_role", {**line, "ev_missing": "shipper_name"}, up=up) is None
    assert say("shipper_role", {**itself, "ev_missing": "manufacturer_name"}, up=False) is None


def test_pass_through_fields_are_reported_with_the_lines_value() -> None:
    names = ["x_office_id", "hist_x_declarant_id_viol_rate", "hist_x_declarant_id_lines"]
    contrib = np.array([[0.3, -0.5, 0.1, 0.0], [0.0, 0.0, 0.0, 0.0], [0.6, -0.5, 0.1, 0.0]])
    context = {
        "x_office_id_raw": np.array(["NYC", "BOS", ""], dtype=object),
        "x_office_id": np.array([3.0, 4.0, 5.0]),
        "x_declarant_id_raw": np.array(["D-9", "D-1", "D-2"], dtype=object),
        "hist_x_declarant_id_lines": np.array([math.log1p(5), 0.0, math.log1p(4)]),
        "hist_x_declarant_id_inspected": np.array([math.log1p(2), 0.0, 0.0]),
        "hist_x_declarant_id_violations": np.array([2.0, 0.0, 0.0]),
    }
    first, second, third = reasons_for(contrib, names, context, k=2)
    assert [(r["code"], r["direction"]) for r in first] == [
        ("field:x_office_id", "raises"),
        ("history:x_declarant_id", "lowers"),
    ]
    field, hist = first
    assert hist["text"] == (
        "The value D-9 of x_declarant_id had 2 violations in 2 past inspections over 5 lines."
    )
    assert hist["evidence"] == {"field": "x_declarant_id", "value": "D-9", "prior_lines": 5,
                                "prior_inspections": 2, "prior_violations": 2}  # fmt: skip
    assert (hist["contribution"], hist["share"]) == (-0.4, -0.5714)
    assert field["text"] == "Field x_office_id = NYC."
    assert field["evidence"] == {"field": "x_office_id", "value": "NYC"}
    assert (field["contribution"], field["share"]) == (0.3, 0.4286)
    # A line whose contributions are all zero: nothing raises or lowers it, so no reason.
    assert second == []
    # An undeclared value and a value never inspected are no reason, however large.
    assert third == []
    assert reasons_for(contrib, names, context, k=0) == [[], [], []]


def test_history_of_a_pass_through_field_reads_its_own_columns() -> None:
    # A model trained with a pass-through column may have only some of its history columns.
    names = ["hist_x_broker_id_lines", "hist_x_broker_id_risky_share", "x_port"]
    contrib = np.array([[0.3, 0.1, 0.1, 0.0]] * 3)
    context = {
        "x_broker_id_raw": np.array(["", "B-2", "B-3"], dtype=object),
        "hist_x_broker_id_lines": np.array([math.log1p(10), math.log1p(0.4), math.log1p(10)]),
        "hist_x_broker_id_risky_share": np.array([1.0, NAN, 0.3]),
        "x_port": np.array([7.0, 8.0, 9.0]),  # no raw column: the value itself is shown
    }
    first, second, third = reasons_for(contrib, names, context, k=2)
    # No broker declared: its history is no reason, though its share is the largest.
    assert [r["code"] for r in first] == ["field:x_port"]
    assert first[0]["text"] == "Field x_port = 7.0."
    assert first[0]["evidence"] == {"field": "x_port", "value": "7.0"}
    assert (first[0]["contribution"], first[0]["share"]) == (0.1, 0.2)
    # A broker with no history: no reason.
    assert [r["code"] for r in second] == ["field:x_port"]
    assert second[0]["evidence"]["value"] == "8.0"
    hist, port = third
    assert (hist["code"], port["code"]) == ("history:x_broker_id", "field:x_port")
    assert hist["text"] == (
        "3 past lines of the value B-3 of x_broker_id's 10 had risky goods, routes or places."
    )
    assert hist["evidence"] == {"field": "x_broker_id", "value": "B-3", "prior_lines": 10,
                                "prior_inspections": 0, "prior_violations": 0,
                                "prior_risky_lines": 3}  # fmt: skip
    assert (hist["contribution"], hist["share"]) == (0.4, 0.8)


def test_an_entry_without_its_size_is_no_reason() -> None:
    for up in (True, False):
        assert say("entry_shape", {}, up=up) is None
        assert say("entry_shape", {"lines_in_entry": NAN}, up=up) is None


def test_the_shipper_address_country_is_part_of_the_route() -> None:
    line = {"country_of_origin_raw": "CN", "shp_addr_country": "KZ"}
    text, ev = say("route", line)
    assert text == "Declared origin CN but shipper address country KZ."
    assert ev["shipper_address_country"] == "KZ"


def test_one_declared_party_is_enough_for_list_screening() -> None:
    lines = (
        ({"mfr_list_sim": NAN, "shp_list_sim": 40.0}, "shipper"),
        ({"shp_list_sim": 40.0}, "shipper"),
        ({"mfr_list_sim": 40.0}, "manufacturer"),
        ({"mfr_list_sim": 40.0, "shp_list_sim": None}, "manufacturer"),
    )
    for line, role in lines:
        text, ev = say("listed_entity", line, up=False)
        assert text.startswith("No match on the entity lists"), line
        assert f"the {role} name does not match" in text, line
        assert ev == {"screened": [role]}, line


def test_xinjiang_terms_in_names_alone_and_the_manufacturers_place_first() -> None:
    text, _ = say("xinjiang_address", {"ev_names_xj_terms": "aksu"})
    assert text == "Party names or addresses point to Xinjiang: aksu."
    line = {"ev_mfr_xj_terms": "hotan", "ev_mfr_xj_place": "Hotan prefecture",
            "ev_shp_xj_place": "Urumqi"}  # fmt: skip
    assert say("xinjiang_address", line)[1] == {"terms": ["hotan"], "place": "Hotan prefecture"}


def test_one_reason_asked_one_reason_given() -> None:
    # k reasons per direction: the largest that rests on evidence, in each direction.
    names = ["x_port", "x_office", "x_desk", "x_gate"]
    contrib = np.array([[0.2, -0.7, 0.5, -0.1, 0.0]])
    context = {f"{n}_raw": np.array([n[2:].upper()], dtype=object) for n in names}
    (only,) = reasons_for(contrib, names, context, k=1)
    assert [(r["code"], r["direction"]) for r in only] == [
        ("field:x_desk", "raises"),
        ("field:x_office", "lowers"),
    ]
    (two,) = reasons_for(contrib, names, context, k=2)
    assert [r["code"] for r in two] == ["field:x_desk", "field:x_port", "field:x_office",
                                         "field:x_gate"]  # fmt: skip
    assert [r["share"] for r in two] == [0.3333, 0.1333, -0.4667, -0.0667]
    # A group without evidence does not use up the reasons asked for.
    context["x_desk_raw"] = np.array([""], dtype=object)
    (only,) = reasons_for(contrib, names, context, k=1)
    assert [r["code"] for r in only] == ["field:x_port", "field:x_office"]
    assert only[0]["share"] == 0.1333  # the share is of all groups, shown or not
    # With no evidence in the line at all, there are no reasons.
    assert reasons_for(contrib, names, {}, k=4) == [[]]


def test_a_missing_history_count_reads_as_no_record() -> None:
    """A named party whose count column is missing must not crash the sentence."""
    from models.scoring.sentences import SENTENCES as S

    line = {"imp_key": "IMP-1", "hist_imp_inspected": None, "hist_imp_violations": NAN,
            "hist_imp_lines": math.log1p(4.0)}  # fmt: skip
    for up in (True, False):
        S["importer_history"](line, up)  # no ValueError from round(nan)


def test_a_history_record_is_worded_alike_each_time_and_never_shared() -> None:
    """History sentences are worded once per distinct record: the same words each time, a
    fresh evidence dict per line, and a different record (or a NaN share) worded anew."""
    line = {
        "imp_key": "IMP-1", "hist_imp_inspected": math.log1p(3), "hist_imp_violations": 1.0,
        "hist_imp_lines": math.log1p(10), "hist_imp_risky_share": NAN,
    }  # fmt: skip
    first, again = say("importer_history", line), say("importer_history", dict(line))
    assert first is not None and again is not None
    assert first == again and first[1] is not again[1]
    first[1]["prior_violations"] = 99  # a caller changing one line's evidence
    assert say("importer_history", line) == again
    worse = say("importer_history", {**line, "hist_imp_violations": 2.0})
    assert worse is not None and worse[0].startswith("The importer had 2 violations")
    # No violation: raising it needs risky past lines, which the share gives.
    clean = {**line, "hist_imp_violations": 0.0}
    assert say("importer_history", clean) is None
    risky = say("importer_history", {**clean, "hist_imp_risky_share": 0.5})
    assert risky is not None and risky[0].startswith("5 past lines of the importer's 10")
    assert say("importer_history", clean) is None
    assert say("importer_history", {**line, "imp_key": ""}) is None
