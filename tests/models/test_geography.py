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
    ((hit, terms, found, _),) = find_xinjiang([text])
    assert hit
    assert found == place
    assert terms != ""


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
    ((hit, terms, found, _),) = find_xinjiang([text])
    assert not hit
    assert terms == ""
    assert found == ""


def test_postal_codes():
    out = find_xinjiang(["Post code 844000", "Zip 200120 Shanghai", "HS 8541430000", "830011"])
    assert [postal for *_, postal in out] == [True, False, False, True]


def test_one_answer_per_text_in_order():
    out = find_xinjiang(["Kashgar", "", "Hamilton"])
    assert [hit for hit, *_ in out] == [True, False, False]


def test_most_specific_place_wins_and_all_terms_listed():
    ((_, terms, place, _),) = find_xinjiang(["Moyu County, Hotan, Xinjiang"])
    assert place == "Karakax"
    assert set(terms.split("|")) == {"MOYU", "HOTAN", "XINJIANG"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("CN-XJ", True), ("cn-65", True), ("650100", True), ("CN-SH", False), ("31", False)],
)
def test_is_xinjiang_subdivision(code, expected):
    assert is_xinjiang_subdivision(code) is expected


def test_fold_of_ascii_text_is_the_full_unicode_fold() -> None:
    """The ASCII shortcut gives what NFKD and dropping combining marks give, per character."""
    import unicodedata

    from models.reference.geography import fold

    def slow(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()

    texts = ["".join(map(chr, range(128))), "No. 8 Urumqi Rd, Kashgar 844000", ""]
    texts += ["Ürümqi", "Hotan ﬁber", "新疆 Aksu", "ǅemal"]  # not ASCII: the full path
    for text in texts:
        assert fold(text) == slow(text)
