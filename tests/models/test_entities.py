import pandas as pd
import pytest

from models.reference.entities import EntityMatcher, normalize_name


@pytest.fixture(scope="module")
def matcher():
    return EntityMatcher()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hoshine Silicon Industry (Shanshan) Co. Ltd", "HOSHINE SILICON INDUSTRY SHANSHAN"),
        ("HOSHINE SILICON IND SHANSHAN CO LTD", "HOSHINE SILICON INDUSTRY SHANSHAN"),
        ("XINJIANG DAQO NEW ENERGY CO.,LTD", "XINJIANG DAQO NEW ENERGY"),
        ("Top Glove Sdn. Bhd.", "TOP GLOVE"),
        ("Ürümqi Intl Trading Corp", "URUMQI INTERNATIONAL TRADING"),
        ("", ""),
    ],
)
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("declared", "entity_id"),
    [
        ("HOSHINE SILICON IND SHANSHAN CO LTD", "UFLPA-0001"),
        ("XINJIANG DAQO NEW ENERGY CO.,LTD", "UFLPA-0016"),
        ("XINJIANG GREAT NEW ENERGY CO LTD", "UFLPA-0016"),
        ("XPCC", "UFLPA-0002"),
        ("Luopu Meixin Hair Products Co Ltd", "UFLPA-0003"),
        ("HOTAN HAOLIN HAIR ACCESSORIES CO., LTD.", "UFLPA-0010"),
        ("CHANGJI YIDA TEXTILE CO LTD", "UFLPA-0007"),
        ("合盛硅业（鄯善）有限公司", "UFLPA-0001"),
        ("TOP GLOVE CORPORATION BHD", "CBP-0012"),
        ("XINJIANG ZHONGTAI CHEMICAL CO LTD", "UFLPA-0021"),
    ],
)
def test_aliases_and_manifest_spellings_match(matcher, declared, entity_id):
    (out,) = matcher.match([declared])
    assert out.similarity >= 88.0
    assert out.entity_id == entity_id
    assert out.citation != ""


def test_transliteration_resolves_to_the_listed_entity(matcher):
    out = matcher.match(["HOTAN HAOLIN HAIR ACCESSORIES CO., LTD.", "TOP GLOVE CORPORATION BHD"])
    assert [m.entity_name for m in out] == [
        "Hetian Haolin Hair Accessories Co. Ltd.",
        "Top Glove Corporation Bhd",
    ]
    assert [m.list for m in out] == ["UFLPA", "FINDING"]
    assert out[0].matched_alias == "Hotan Haolin Hair Accessories"


@pytest.mark.parametrize(
    "generic",
    [
        "TEXTILE CO LTD",
        "TEXTILES CO., LIMITED",
        "XINJIANG TEXTILE CO LTD",
        "HUAFU TEXTILE",
        "GOLD CO LTD",
        "CAMEL TRADING CO",
        "NINGBO SHANSHAN CO LTD",
        "SHENZHEN ELECTRONIC TECHNOLOGY CO LTD",
        "XPCD",
        "HAIR PRODUCTS CO LTD",
    ],
)
def test_generic_names_do_not_match(matcher, generic):
    (out,) = matcher.match([generic])
    assert pd.isna(out.entity_id)
    assert out.similarity == 0.0
    assert out.matched_alias == ""


def test_one_answer_per_name_in_order_and_blank_never_matches(matcher):
    out = matcher.match(["XPCC", "", "  ", "ACME WIDGETS LLC", "XPCC"])
    assert [pd.isna(m.entity_id) for m in out] == [False, True, True, True, False]
    assert [m.similarity for m in out][1:4] == [0.0, 0.0, 0.0]
    assert out[0] == out[4]


def test_results_are_cached_per_normalised_name(matcher):
    matcher.match(["Hoshine Silicon Industry (Shanshan) Co. Ltd"])
    assert "HOSHINE SILICON INDUSTRY SHANSHAN" in matcher._cache


def test_custom_table_and_threshold():
    table = pd.DataFrame(
        {
            "entity_id": ["X-1"],
            "name": ["Blue Lotus Weaving Co Ltd"],
            "aliases": ["Lanlian Weaving"],
            "list": ["WRO"],
            "citation": ["CBP WRO 2030-01-01"],
        }
    )
    strict = EntityMatcher(table, min_similarity=99.0)
    loose = EntityMatcher(table, min_similarity=85.0)
    names = ["BLUE LOTUS WEAVNG CO"]
    assert pd.isna(strict.match(names)[0].entity_id)
    assert loose.match(names)[0].entity_id == "X-1"
    assert loose.match(["LANLIAN WEAVING LTD"])[0].matched_alias == "Lanlian Weaving"


def test_many_distinct_ordinary_names_match_nothing():
    # Speed at this size is measured in bench/features.py, not here.
    out = EntityMatcher().match([f"SUPPLIER {i} TRADING CO LTD" for i in range(5000)])
    assert all(pd.isna(m.entity_id) for m in out)


@pytest.mark.parametrize(
    ("declared", "entity_id"),
    [
        ("TOP GLOVE CORPRATION BHD", "CBP-0012"),  # misspelt legal form
        ("XINJIANG DAQ NEW ENERGY CO LTD", "UFLPA-0016"),  # typo in the distinctive word
        ("INJIANG GCL NEW ENERGY MATERIAL TECHNOLOGY CO LTD", "UFLPA-0018"),  # first letter lost
        ("TANYUANTECHNOLOGY CO LTD", "UFLPA-0015"),  # glued words
    ],
)
def test_manifest_typos_still_match(matcher, declared, entity_id):
    assert matcher.match([declared])[0].entity_id == entity_id


@pytest.mark.parametrize(
    "near_miss",
    ["STAR HUAFU TEXTILE", "BRIGHT GROUP CO LTD", "JIA MEIKE SOLAR LIMITED", "TEXTILE DA HUAFU CO"],
)
def test_sharing_only_some_distinctive_words_does_not_match(matcher, near_miss):
    assert pd.isna(matcher.match([near_miss])[0].entity_id)


def test_sorted_alias_ratio_is_token_sort_ratio_for_every_alias():
    from rapidfuzz import fuzz

    from models.reference.entities import _sort_tokens

    m = EntityMatcher()
    queries = ["XINJIANG  ZHONGTAI\tCHEMICAL", "CHEMICAL ZHONGTAI", "B A", "X\u3000Y Z", "", "A"]
    for q in queries:
        for alias in m._choice_text:
            expected = fuzz.token_sort_ratio(q, alias)
            assert fuzz.ratio(_sort_tokens(q), _sort_tokens(alias)) == expected


def test_one_name_and_a_batch_match_the_same():
    from models.contract.batch import SMALL_BATCH

    names = ["ZHONGTAI CHEMICAL XINJIANG", "HOSHINE SILICON", "XINJIANG TIANYE CO"]
    names += [f"ACME TEXTILES {i}" for i in range(SMALL_BATCH)]  # distinct: past the threshold
    one = [EntityMatcher().match([n])[0] for n in names]  # each in the calling thread
    many = EntityMatcher().match(names)  # one batch, in cdist's worker threads
    assert one == many
    assert any(isinstance(r[0], str) for r in many[:3])  # some names do match


@pytest.mark.parametrize(
    ("declared", "entity_id"),
    [
        ("HEFEI BITLAND INFO TECHNOLOGY", "UFLPA-0008"),  # abbreviated word
        ("XINJIANG EASTHOPE NONFERROUS", "UFLPA-0017"),  # glued words, a word dropped
    ],
)
def test_spellings_just_above_the_default_threshold_match(matcher, declared, entity_id):
    """Realistic manifest spellings that score 88-94: a stricter threshold would miss them."""
    (out,) = matcher.match([declared])
    assert not pd.isna(out.entity_id), f"{declared!r} matched nothing"
    assert out.entity_id == entity_id
    assert 88.0 <= out.similarity < 95.0


def test_hits_are_the_normalised_names_that_match_an_entity(matcher):
    """A re-screen's first pass: which stored names, normalised once, match anything."""
    names = ["HOSHINE SILICON IND SHANSHAN CO LTD", "ACME WIDGETS LLC", "", "XPCC"]
    normalized = [matcher.normalize(n) for n in names]
    assert normalized[0] == "HOSHINE SILICON INDUSTRY SHANSHAN"
    fresh = EntityMatcher()
    assert fresh.hits(normalized) == {"HOSHINE SILICON INDUSTRY SHANSHAN", "XPCC"}
    assert fresh.hits(normalized) == {"HOSHINE SILICON INDUSTRY SHANSHAN", "XPCC"}  # cached
    assert fresh.hits(["ACME WIDGETS", ""]) == set()


def test_normalize_uses_the_matchers_own_place_spellings():
    custom = EntityMatcher(spellings={"SANJI": "CHANGJI"})
    assert custom.normalize("Sanji Yida Textile Co Ltd") == "CHANGJI YIDA TEXTILE"
    plain = EntityMatcher(spellings={})
    assert plain.normalize("Sanji Yida Textile Co Ltd") == "SANJI YIDA TEXTILE"


@pytest.mark.parametrize("near", ["XPCCS", "AXPCC", "XPC C"])
def test_an_acronym_matches_only_exactly_even_above_the_threshold(matcher, near):
    """Similarity 88.9 to the alias "XPCC": above 88, but a short acronym allows no typo."""
    from rapidfuzz import fuzz

    assert fuzz.ratio(near, "XPCC") >= matcher.min_similarity
    assert pd.isna(matcher.match([near])[0].entity_id)
