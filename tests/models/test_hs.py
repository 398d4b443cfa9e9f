import pandas as pd
import pytest

from models.reference.hs import chapter, heading, hs6, hs_description, hs_exists, risk_goods_lookup


def test_hs6_chapter_heading():
    codes = pd.Series(["6109.10.0012", "6109100012", "5201.00", "12", None], index=[4, 3, 2, 1, 0])
    assert hs6(codes).tolist() == ["610910", "610910", "520100", "", ""]
    assert heading(codes).tolist() == ["6109", "6109", "5201", "", ""]
    assert chapter(codes).tolist() == ["61", "61", "52", "12", ""]
    assert list(hs6(codes).index) == [4, 3, 2, 1, 0]


def test_nomenclature():
    assert hs_exists("5201")
    assert hs_exists("8541.43")
    assert not hs_exists("5299")
    assert not hs_exists("")
    assert hs_description("5201").lower().startswith("cotton")
    assert hs_description("0000") == ""


def _one(code: str, origin: str) -> pd.Series:
    return risk_goods_lookup(pd.Series([code]), pd.Series([origin])).iloc[0]


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


def test_lookup_is_aligned_and_typed():
    out = risk_goods_lookup(
        pd.Series(["520100", "520100", None], index=[9, 8, 7]),
        pd.Series(["CN", "US", None], index=[9, 8, 7]),
    )
    assert list(out.index) == [9, 8, 7]
    assert out["rg_ilab_fl"].tolist() == [True, False, False]
    assert out["rg_priority"].dtype == bool
