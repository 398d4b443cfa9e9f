import pytest

from models.reference.hs import RISK_COLUMNS, hs6_of, hs_description, hs_exists, risk_goods


def test_hs6_of_dotted_and_plain_codes():
    codes = ["6109.10.0012", "6109100012", "5201.00", "12", ""]
    assert [hs6_of(c) for c in codes] == ["610910", "610910", "520100", "", ""]


def test_nomenclature():
    assert hs_exists("5201")
    assert hs_exists("8541.43")
    assert not hs_exists("5299")
    assert not hs_exists("")
    assert hs_description("5201").lower().startswith("cotton")
    assert hs_description("0000") == ""


def _one(code: str, origin: str) -> dict[str, object]:
    return dict(zip(RISK_COLUMNS, risk_goods([(code, origin)])[0], strict=True))


def test_cotton_from_china_is_ilab_listed_and_priority():
    row = _one("520100", "CN")
    assert row["rg_ilab_fl"] and row["rg_ilab_any"] and row["rg_priority"]
    assert row["rg_sector"] == "cotton and apparel"
    assert row["rg_good"] == "Cotton"
    assert "RG-0001" in row["rg_rule_ids"].split("|")


def test_cotton_from_the_us_is_listed_elsewhere_only():
    row = _one("520100", "US")
    assert row["rg_ilab_any"]
    assert not row["rg_ilab_fl"]
    assert not row["rg_priority"]
    assert row["rg_rule_ids"] == ""


def test_tomato_paste_from_china_is_priority():
    row = _one("200290", "CN")
    assert row["rg_priority"]
    assert row["rg_sector"] == "tomatoes"


def test_seafood_is_priority_from_any_origin():
    row = _one("030489", "EC")
    assert row["rg_priority"]
    assert row["rg_sector"] == "seafood"


def test_solar_modules_from_china_are_derived():
    row = _one("854143", "CN")
    assert row["rg_ilab_derived"]
    assert row["rg_priority"]
    assert not _one("854143", "MY")["rg_ilab_derived"]


def test_garments_from_vietnam_are_ilab_listed():
    row = _one("610910", "VN")
    assert row["rg_ilab_fl"]
    assert row["rg_good"] == "Garments"
    assert not row["rg_priority"]


@pytest.mark.parametrize(("code", "origin"), [("", "CN"), ("847130", "DE"), ("999999", "")])
def test_unlisted_lines(code, origin):
    row = _one(code, origin)
    assert not (row["rg_priority"] or row["rg_ilab_fl"] or row["rg_ilab_derived"])
    assert row["rg_sector"] == ""


def test_lookup_keeps_the_order_of_its_keys():
    out = risk_goods([("520100", "CN"), ("520100", "US"), ("", "")])
    assert [row[RISK_COLUMNS.index("rg_ilab_fl")] for row in out] == [True, False, False]
