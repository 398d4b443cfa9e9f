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


def say(code: str, line: dict[str, object], up: bool = True) -> tuple[str, dict[str, object]]:
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
    text, ev = say("listed_entity", {"mfr_list_sim": 55.0, "shp_list_sim": NAN}, up=False)
    assert text == "Neither the manufacturer nor the shipper matches the UFLPA or WRO entity lists."
    assert ev == {}
    text, ev = say("listed_entity", {"mfr_list_sim": NAN, "shp_list_sim": NAN}, up=False)
    assert text == (
        "No manufacturer or shipper name was declared, so list screening was not possible."
    )
    assert ev == {}


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


def test_description_terms() -> None:
    text, ev = say("goods_description", {"ev_desc_terms": "xj cotton|uyghur"})
    assert text == "The goods description contains tell-tale terms: xj cotton, uyghur."
    assert ev == {"terms": ["xj cotton", "uyghur"]}
    text, ev = say("goods_description", {"ev_desc_terms": ""}, up=False)
    assert text == "The goods description has no tell-tale terms." and ev == {}


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
    text, ev = say("risk_goods", {**GOODS, "rg_ilab_fl": 0, "rg_priority": 1})
    assert text == "HS 520100 is in a UFLPA high-priority sector (cotton)."
    assert (ev["ilab_forced_labor"], ev["uflpa_priority"]) == (False, True)
    text, _ = say("risk_goods", {**GOODS, "rg_ilab_fl": 0, "rg_priority": 0})
    assert text == "HS 520100 (Cotton) is listed by ILAB for other origins or as a derived good."
    text, ev = say("risk_goods", {"hs6": "940360"}, up=False)
    assert text == "HS 940360 is not a listed forced-labour risk good."
    assert ev["rules"] == [""] and ev["ilab_forced_labor"] is False


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
    assert say("route", same, up=False)[0] == "Route consistent with declared origin VN."


def test_origin() -> None:
    assert say("origin", {"country_of_origin_raw": "MY"}) == (
        "Declared country of origin MY.",
        {"origin": "MY"},
    )


@pytest.mark.parametrize(
    ("unit", "typical", "text"),
    [
        (2.0, 4.0, "Unit value $2.00 is 50% below the typical $4.00"),
        (6.0, 4.0, "Unit value $6.00 is 50% above the typical $4.00"),
        (1230.0, 1000.0, "Unit value $1,230.00 is 23% above the typical $1,000.00"),
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
        {"log_unit_value": 1.0, "log_unit_value_typical": 1.0, "log_unit_value_z": NAN},
        {"log_unit_value": NAN, "log_unit_value_typical": 1.0, "log_unit_value_z": 0.1},
        {"log_unit_value": 1.0, "log_unit_value_typical": NAN, "log_unit_value_z": 0.1},
        {"log_unit_value": 1.0, "log_unit_value_typical": None, "log_unit_value_z": 0.1},
        {"log_unit_value": 1.0, "log_unit_value_typical": 1.0, "log_unit_value_z": None},
    ],
)
def test_unit_value_without_a_value_says_so(line: dict[str, object]) -> None:
    assert say("unit_value", line, up=False) == (
        "Unit value could not be computed (quantity or value missing).",
        {},
    )


def test_party_history_counts_are_the_lines_own() -> None:
    # History features are stored as log1p counts, violations as a plain count.
    line = {"hist_imp_inspected": math.log1p(3), "hist_imp_violations": 1.0,
            "hist_imp_lines": math.log1p(1200)}  # fmt: skip
    text, ev = say("importer_history", line)
    assert text == "The importer had 1 violation in 3 past inspections over 1,200 lines."
    assert ev == {"prior_lines": 1200, "prior_inspections": 3, "prior_violations": 1}
    one = {"hist_mfr_inspected": math.log1p(1), "hist_mfr_violations": 0.0,
           "hist_mfr_lines": math.log1p(1)}  # fmt: skip
    assert say("manufacturer_history", one)[0] == (
        "The manufacturer had 0 violations in 1 past inspection over 1 line."
    )
    text, ev = say("shipper_history", {"hist_shp_lines": math.log1p(0.4)}, up=False)
    assert text == "The shipper has no history in the training data (new)."
    assert ev == {"prior_lines": 0, "prior_inspections": 0, "prior_violations": 0}
    assert say("goods_history", {"hist_hs6_lines": None})[0].startswith("The subheading has no")


def test_missing_fields_and_entry_size() -> None:
    text, ev = say("missing_data", {"ev_missing": "manufacturer_name|hts_code"})
    assert text == "Unknown (not declared): manufacturer_name, hts_code."
    assert ev == {"missing": ["manufacturer_name", "hts_code"]}
    assert say("missing_data", {}, up=False) == ("All screening fields were declared.", {})
    assert say("entry_shape", {"lines_in_entry": 12}) == (
        "The entry has 12 line(s).",
        {"lines_in_entry": 12},
    )
    assert say("entry_shape", {"lines_in_entry": None})[1] == {"lines_in_entry": 1}


def test_pass_through_fields_are_reported_with_the_lines_value() -> None:
    names = ["x_office_id", "hist_x_declarant_id_viol_rate", "hist_x_declarant_id_lines"]
    contrib = np.array([[0.3, -0.5, 0.1, 0.0], [0.0, 0.0, 0.0, 0.0]])
    context = {
        "x_office_id_raw": np.array(["NYC", ""], dtype=object),
        "x_office_id": np.array([3.0, 4.0]),
        "x_declarant_id_raw": np.array(["D-9", "D-1"], dtype=object),
        "hist_x_declarant_id_lines": np.array([math.log1p(5), 0.0]),
        "hist_x_declarant_id_inspected": np.array([math.log1p(2), 0.0]),
        "hist_x_declarant_id_violations": np.array([2.0, 0.0]),
    }
    first, second = reasons_for(contrib, names, context, k=2)
    assert [r["code"] for r in first] == ["history:x_declarant_id", "field:x_office_id"]
    hist, field = first
    assert hist["text"] == (
        "The value D-9 of x_declarant_id had 2 violations in 2 past inspections over 5 lines."
    )
    assert hist["evidence"] == {"field": "x_declarant_id", "value": "D-9", "prior_lines": 5,
                                "prior_inspections": 2, "prior_violations": 2}  # fmt: skip
    assert (hist["contribution"], hist["share"]) == (-0.4, -0.5714)
    assert field["text"] == "Field x_office_id = NYC."
    assert field["evidence"] == {"field": "x_office_id", "value": "NYC"}
    assert (field["contribution"], field["share"]) == (0.3, 0.4286)
    # A line whose contributions are all zero: shares are 0, not a division by zero.
    assert [r["share"] for r in second] == [0.0, 0.0]
    assert second[1]["text"] == "Field x_office_id = unknown." or second[0]["text"] == (
        "Field x_office_id = unknown."
    )
    assert reasons_for(contrib, names, context, k=0) == [[], []]


def test_history_of_a_pass_through_field_reads_its_own_columns() -> None:
    # A model trained with a pass-through column may have only some of its history columns.
    names = ["hist_x_broker_id_lines", "x_port"]
    contrib = np.array([[0.4, 0.1, 0.0], [0.4, 0.1, 0.0]])
    context = {
        "x_broker_id_raw": np.array(["", "B-2"], dtype=object),
        "hist_x_broker_id_lines": np.array([math.log1p(1), math.log1p(0.4)]),
        "x_port": np.array([7.0, 8.0]),  # no raw column: the value itself is shown
    }
    first, second = reasons_for(contrib, names, context, k=2)
    assert first[0]["text"] == (
        "The value unknown of x_broker_id had 0 violations in 0 past inspections over 1 line."
    )
    assert first[0]["evidence"]["value"] == ""
    assert first[1]["text"] == "Field x_port = 7.0."
    assert first[1]["evidence"] == {"field": "x_port", "value": "7.0"}
    assert (
        second[0]["text"]
        == "The value B-2 of x_broker_id has no history in the training data (new)."
    )


def test_an_entry_without_its_size_counts_as_one_line() -> None:
    assert say("entry_shape", {}) == ("The entry has 1 line(s).", {"lines_in_entry": 1})


def test_the_shipper_address_country_is_part_of_the_route() -> None:
    line = {"country_of_origin_raw": "CN", "shp_addr_country": "KZ"}
    text, ev = say("route", line)
    assert text == "Declared origin CN but shipper address country KZ."
    assert ev["shipper_address_country"] == "KZ"


def test_one_declared_party_is_enough_for_list_screening() -> None:
    for line in ({"mfr_list_sim": NAN, "shp_list_sim": 40.0}, {"mfr_list_sim": 40.0}):
        text, _ = say("listed_entity", line, up=False)
        assert text.startswith("Neither the manufacturer nor the shipper matches"), line


def test_xinjiang_terms_in_names_alone_and_the_manufacturers_place_first() -> None:
    text, _ = say("xinjiang_address", {"ev_names_xj_terms": "aksu"})
    assert text == "Party names or addresses point to Xinjiang: aksu."
    line = {"ev_mfr_xj_terms": "hotan", "ev_mfr_xj_place": "Hotan prefecture",
            "ev_shp_xj_place": "Urumqi"}  # fmt: skip
    assert say("xinjiang_address", line)[1] == {"terms": ["hotan"], "place": "Hotan prefecture"}


def test_one_reason_asked_one_reason_given() -> None:
    contrib = np.array([[0.2, -0.7, 0.0]])
    (only,) = reasons_for(contrib, ["x_port", "x_office"], {}, k=1)
    assert [r["code"] for r in only] == ["field:x_office"]
