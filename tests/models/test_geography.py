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


def _searched_always(index):
    """The same index without the first-word shortcut: every text goes through the regex."""
    import copy

    plain = copy.copy(index)
    plain.first_words = None
    return plain


def test_the_first_word_shortcut_finds_what_the_full_search_finds() -> None:
    import random

    from models.reference.geography import _default_index

    index = _default_index()
    assert index.first_words  # the shipped table's spellings all begin with a letter
    plain = _searched_always(index)
    variants = sorted(index.info)
    contexts = ["{}", "No. 5 {} Road, China", "X{}", "{}1", "1{}", "-{}-", "({})", "{}CITY"]
    texts = [c.format(v) for v in variants for c in contexts]
    texts += [c.format(v.replace(" ", "-")) for v in variants if " " in v for c in contexts]
    texts += [c.format(v.title()) for v in variants for c in contexts[:2]]
    rng = random.Random(7)
    words = [w for v in variants for w in v.split()] + ["ROAD", "CHINA", "NO", "88", "É"]
    texts += [" ".join(rng.choices(words, k=rng.randint(1, 6))) for _ in range(3000)]
    texts += ["", "Hamilton", "ARALIA 12", "LOP123", "Kashi, India", "乌鲁木齐市"]
    hits = 0
    for text in texts:
        want = plain.find(text)
        assert index.find(text) == want, text
        hits += want[0]
    assert 0 < hits < len(texts)  # both kinds of text were checked


@pytest.mark.parametrize("variant", ["'Aksu", "·Hami"])
def test_a_spelling_not_beginning_with_a_letter_or_digit_turns_the_shortcut_off(variant) -> None:
    import pandas as pd

    from models.reference.geography import PlaceIndex

    places = pd.DataFrame(
        {"canonical": ["Aksu", "Hotan"], "variant": [variant, "Hotan"], "kind": ["city"] * 2}
    )
    index = PlaceIndex(places)
    assert index.first_words is None
    assert index.find(f"No. 1 Road, {variant.upper()}, Hotan")[0]


def test_a_table_of_chinese_spellings_only_searches_no_latin_word() -> None:
    import pandas as pd

    from models.reference.geography import PlaceIndex

    index = PlaceIndex(
        pd.DataFrame({"canonical": ["Urumqi"], "variant": ["乌鲁木齐"], "kind": ["city"]})
    )
    assert index.first_words == frozenset()
    assert index.find("No. 5 Road, 新疆乌鲁木齐") == (True, "乌鲁木齐", "Urumqi", False)
    assert index.find("No. 5 Road") == (False, "", "", False)
