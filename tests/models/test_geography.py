import pandas as pd
import pytest

from models.reference.geography import find_xinjiang, is_xinjiang_subdivision


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("No. 5 Renmin Road, Kashi, China", "Kashgar"),
        ("Hetian Industrial Park", "Hotan"),
        ("KHOTAN", "Hotan"),
        ("12 Beijing Rd, Wulumuqi", "Urumqi"),
        ("Ürümqi", "Urumqi"),
        ("URUMQI", "Urumqi"),
        ("Yining County", "Ghulja"),
        ("XUAR, PRC", "Xinjiang"),
        ("Xinjiang Uygur Autonomous Region", "Xinjiang"),
        ("乌鲁木齐市新市区", "Urumqi"),
        ("No. 88 Tianshan Road, Shanshan, Xinjiang, China", "Shanshan"),
        ("LOP COUNTY, HOTAN PREFECTURE", "Lop"),
        ("Kuerle, Bayingolin", "Korla"),
    ],
)
def test_known_spellings_resolve(text, place):
    out = find_xinjiang(pd.Series([text]))
    assert bool(out.loc[0, "xj_hit"])
    assert out.loc[0, "xj_place"] == place
    assert out.loc[0, "xj_terms"] != ""


@pytest.mark.parametrize(
    "text",
    [
        "1 Main St, Hamilton, Ontario",
        "Pudong, Shanghai, China",
        "District 1, Ho Chi Minh City, Vietnam",
        "Aralia Road, Singapore",
        "Varanasi (Kashi), Uttar Pradesh, India",
        "Bole Sub City, Addis Ababa, Ethiopia",
        "Xinxing County, Yunfu, Guangdong, China",
        "Ningbo Shanshan Co, Zhejiang, China",
        "",
    ],
)
def test_other_places_are_not_xinjiang(text):
    out = find_xinjiang(pd.Series([text]))
    assert not bool(out.loc[0, "xj_hit"])
    assert out.loc[0, "xj_terms"] == ""
    assert out.loc[0, "xj_place"] == ""


def test_postal_codes():
    out = find_xinjiang(
        pd.Series(["Post code 844000", "Zip 200120 Shanghai", "HS 8541430000", "830011"])
    )
    assert out["xj_postal"].tolist() == [True, False, False, True]


def test_aligned_on_index_with_missing_values():
    texts = pd.Series(["Kashgar", None, "Hamilton"], index=["a", "b", "c"])
    out = find_xinjiang(texts)
    assert list(out.index) == ["a", "b", "c"]
    assert out["xj_hit"].tolist() == [True, False, False]
    assert list(out.columns) == ["xj_hit", "xj_terms", "xj_place", "xj_postal"]


def test_most_specific_place_wins_and_all_terms_listed():
    out = find_xinjiang(pd.Series(["Moyu County, Hotan, Xinjiang"]))
    assert out.loc[0, "xj_place"] == "Karakax"
    assert set(out.loc[0, "xj_terms"].split("|")) == {"MOYU", "HOTAN", "XINJIANG"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("CN-XJ", True), ("cn-65", True), ("650100", True), ("CN-SH", False), ("31", False)],
)
def test_is_xinjiang_subdivision(code, expected):
    assert is_xinjiang_subdivision(code) is expected
