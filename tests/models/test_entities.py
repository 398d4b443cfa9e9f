import numpy as np
import pandas as pd
import pytest

from models.reference.entities import NO_MATCH, EntityMatcher, normalize_name


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
        # "&" and "AND" are dropped alike, as other connecting and legal-form words are.
        ("Junggar Cotton & Linen", "JUNGGAR COTTON LINEN"),
        ("Junggar Cotton and Linen", "JUNGGAR COTTON LINEN"),
        ("Cotton&Linen", "COTTON LINEN"),
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
    single = EntityMatcher()
    one = [single.match([n])[0] for n in names]  # each new to it, in the calling thread
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


# Tests below build their own matcher: mutmut counts a module-scoped fixture's construction
# for the first test that requested it only, so what ``__init__`` indexes is checked here.


def _table(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """An entity table of (entity_id, name, aliases, list) rows, cited by their id."""
    ids, names, aliases, lists = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "entity_id": ids,
            "name": names,
            "aliases": aliases,
            "list": lists,
            "citation": [f"citation of {i}" for i in ids],
        }
    )


def test_a_match_carries_the_listed_rows_name_list_and_citation():
    from models.reference.tables import load_entities

    table = load_entities().set_index("entity_id")
    (out,) = EntityMatcher().match(["SUPERMAX CORPORATION BHD"])
    listed = table.loc["CBP-0013"]
    assert out.entity_id == "CBP-0013"
    assert (out.entity_name, out.list, out.citation) == (
        listed["name"],
        listed["list"],
        listed["citation"],
    )
    assert out.matched_alias == listed["name"]  # the first published of equal spellings
    assert out.similarity == 100.0


@pytest.mark.parametrize(
    ("declared", "shown"),
    [
        ("HOTAN HAOLIN HAIR ACCESSORIES CO LTD", "Hotan Haolin Hair Accessories"),
        ("HETIAN HAOLIN HAIR ACCESSORIES CO LTD", "Hetian Haolin Hair Accessories Co. Ltd."),
    ],
)
def test_each_transliteration_is_shown_as_it_was_declared(declared, shown):
    """Hotan and Hetian normalise alike; the officer sees the published one declared."""
    (out,) = EntityMatcher().match([declared])
    assert out.entity_id == "UFLPA-0010"
    assert out.matched_alias == shown


def test_a_matcher_without_place_spellings_matches_names_as_published():
    """A reference snapshot's own (here: no) place spellings apply to its aliases too."""
    table = _table(("X-1", "Sanji Yida Textile Co Ltd", "", "UFLPA"))
    plain = EntityMatcher(table, spellings={})
    assert plain.match(["SANJI YIDA TEXTILE CO"])[0].entity_id == "X-1"
    assert pd.isna(plain.match(["CHANGJI YIDA TEXTILE CO"])[0].entity_id)
    # With the current place table, both spellings are the one firm.
    spelt = EntityMatcher(table)
    assert [m.entity_id for m in spelt.match(["SANJI YIDA TEXTILE", "CHANGJI YIDA TEXTILE"])] == [
        "X-1",
        "X-1",
    ]


def test_the_matchers_listings_join_a_firm_listed_twice_under_one_spelling():
    """Hoshine is on the UFLPA Entity List and under a WRO: both listings are in force."""
    listings = EntityMatcher().listings
    day = np.array(["2023-01-01"], dtype="datetime64[D]")
    got = listings.in_force(np.array(["UFLPA-0001"], dtype=object), day)
    assert list(got.lists) == ["UFLPA;WRO"]


def test_the_matchers_listings_use_its_own_place_spellings():
    table = _table(
        ("X-1", "Sanji Yida Textile Co Ltd", "", "UFLPA"),
        ("X-2", "Changji Yida Textile Co Ltd", "", "WRO"),
    )
    ids = np.array(["X-1"], dtype=object)
    day = np.array(["2023-01-01"], dtype="datetime64[D]")
    # One firm where Sanji is spelt Changji; two firms for a snapshot with no place spellings.
    assert list(EntityMatcher(table).listings.in_force(ids, day).lists) == ["UFLPA;WRO"]
    assert list(EntityMatcher(table, spellings={}).listings.in_force(ids, day).lists) == ["UFLPA"]


def test_a_glued_number_still_matches_a_numbered_firm(matcher):
    """A lone letter or digit ("4" of "No. 4") is not a word a match must repeat."""
    (out,) = matcher.match(["NO4 VOCATIONAL SKILLS EDUCATION AND TRAINING CENTER"])
    assert out.entity_id == "UFLPA-0014"


@pytest.mark.parametrize(
    "declared",
    [
        "YU LONG NO 3 FISHING VESSEL",
        "LIEN YI HSING NO 1",
        "LIEN YI HSING NO 21",
        "NO 3 VOCATIONAL SKILLS EDUCATION AND TRAINING CENTER",
        "842 COTTON TRANSFER WAREHOUSE",
    ],
)
def test_another_number_is_another_vessel_centre_or_warehouse(declared):
    """The listed number must be in the declared name: a near spelling is not enough.

    Built here, as the numbers are read when the matcher is built."""
    from rapidfuzz import fuzz

    matcher = EntityMatcher()
    query = matcher.normalize(declared)
    near = max(fuzz.ratio(query, matcher.normalize(alias)) for alias in _NUMBERED.values())
    assert near >= matcher.min_similarity  # close enough to match but for the number
    assert pd.isna(matcher.match([declared])[0].entity_id)


_NUMBERED = {
    "CBP-0023": "YU LONG NO 2 FISHING VESSEL",
    "CBP-0024": "LIEN YI HSING NO 12",
    "UFLPA-0014": "NO 4 VOCATIONAL SKILLS EDUCATION AND TRAINING CENTER",
    "UFLPA-0047": "841 COTTON TRANSFER WAREHOUSE",
}


@pytest.mark.parametrize(("entity_id", "declared"), list(_NUMBERED.items()))
def test_the_listed_number_matches_however_it_is_spelt(entity_id, declared):
    matcher = EntityMatcher()
    spelt = declared.replace("NO ", "NO. ").replace("841 ", "NO.841 ")
    out = matcher.match([declared, spelt, declared.replace("NO ", "NUMBER ")])
    assert [m.entity_id for m in out] == [entity_id] * 3


def test_a_two_letter_word_is_distinctive():
    """Another vessel: "XU LONG" is not "YU LONG", though every other word is the same.

    The matcher is built here: the alias words are found when it is built, so a matcher
    shared by the module would not see a change in how they are found."""
    from rapidfuzz import fuzz

    matcher = EntityMatcher()
    declared = "XU LONG NO 2 FISHING VESSEL"
    assert fuzz.ratio(matcher.normalize(declared), "YU LONG NUMBER 2 FISHING VESSEL") > 95
    assert pd.isna(matcher.match([declared])[0].entity_id)
    assert matcher.match(["YU LONG NO 2 FISHING VESSEL"])[0].entity_id == "CBP-0023"


@pytest.mark.parametrize(
    ("declared", "entity_id"),
    [
        ("HO SHINE SILICON INDUSTRY SHANSHAN CO LTD", "UFLPA-0001"),
        ("XINJIANG DA QO NEW ENERGY CO LTD", "UFLPA-0016"),
    ],
)
def test_a_distinctive_word_split_in_two_still_matches(matcher, declared, entity_id):
    assert matcher.match([declared])[0].entity_id == entity_id


def test_every_distinctive_word_is_needed_whichever_is_missing(matcher):
    """ "ARAL HUAFU TEXTILE": neither another firm in Aral nor another Huafu is Huafu of Aral."""
    from rapidfuzz import fuzz

    for near in ("STAR HUAFU TEXTILE", "ARAL HUAYU TEXTILE"):
        assert fuzz.ratio(near, "ARAL HUAFU TEXTILE") >= matcher.min_similarity
    out = matcher.match(["STAR HUAFU TEXTILE", "ARAL HUAYU TEXTILE", "ARAL HUAFU TEXTILE"])
    assert [m.entity_id if isinstance(m.entity_id, str) else None for m in out] == [
        None,
        None,
        "UFLPA-0005",
    ]


def test_a_word_at_the_word_similarity_threshold_counts():
    """A long distinctive word with three letters changed is at 85, the threshold: it counts."""
    from rapidfuzz import fuzz

    word = "ARTUXWEAVINGWORKSHOP"  # glued, 20 letters: three changed give exactly 85
    near, far = "ARTUSWEEVINGWORKSHAP", "ARTUSWEEVINGWARKSHAP"
    assert (fuzz.ratio(word, near), fuzz.ratio(word, far)) == (85.0, 80.0)
    m = EntityMatcher(_table(("X-1", f"Xinjiang {word} Textile Co", "", "UFLPA")))
    got = m.match([f"XINJIANG {near} TEXTILE", f"XINJIANG {far} TEXTILE"])
    assert got[0].similarity >= m.min_similarity and got[1].similarity == 0.0
    assert got[0].entity_id == "X-1"
    assert pd.isna(got[1].entity_id)


def test_a_name_at_exactly_the_threshold_matches():
    """The default threshold is inclusive: three transliterated letters give exactly 88."""
    from rapidfuzz import fuzz

    table = _table(("X-1", "Karakax Huaxing Carpeting Co", "", "UFLPA"))
    declared = "QARAKAX HUAZING KARPETING"
    assert fuzz.ratio(declared, "KARAKAX HUAXING CARPETING") == 88.0
    (out,) = EntityMatcher(table).match([declared])
    assert (out.entity_id, out.similarity) == ("X-1", 88.0)
    assert pd.isna(EntityMatcher(table, min_similarity=88.5).match([declared])[0].entity_id)


def test_a_long_alias_of_generic_words_allows_a_typo_up_to_95():
    """Four generic words are specific enough together: one typo (95) matches, two do not."""
    from rapidfuzz import fuzz

    m = EntityMatcher(_table(("X-1", "New China Food Trade Co., Ltd.", "", "WRO")))
    one, two = "NEW CHINE FOOD TRADE", "NEW CHINE FOOD TRADA"
    assert (fuzz.ratio(one, "NEW CHINA FOOD TRADE"), fuzz.ratio(two, "NEW CHINA FOOD TRADE")) == (
        95.0,
        90.0,
    )
    got = m.match([one, two, "FOOD TRADE NEW CHINA"])
    assert [g.entity_id if isinstance(g.entity_id, str) else None for g in got] == [
        "X-1",
        None,
        "X-1",
    ]


def test_a_short_alias_of_generic_words_matches_only_its_own_words():
    # "XINJIANG ENERGY GROUP": three generic words, any order, but no typo.
    m = EntityMatcher()
    got = m.match(["GROUP XINJIANG ENERGY CO LTD", "XINJIANG ENERGY GROPU CO LTD"])
    assert got[0].entity_id == "UFLPA-0081"
    assert pd.isna(got[1].entity_id)


@pytest.mark.parametrize(
    ("declared", "entity_id"),
    [
        ("SUPERMAXX BHD", "CBP-0013"),  # "SUPERMAX", eight letters: a typo is allowed
        ("NINESTARR CORP", "UFLPA-0022"),  # "NINESTAR", eight letters
        ("DA WANGG", None),  # "DA WANG", seven letters: read as an acronym, exact only
    ],
)
def test_an_alias_of_eight_letters_or_more_allows_a_typo(matcher, declared, entity_id):
    (out,) = matcher.match([declared])
    assert (out.entity_id if isinstance(out.entity_id, str) else None) == entity_id


def test_the_similarity_is_reported_to_one_decimal(matcher):
    from rapidfuzz import fuzz

    (out,) = matcher.match(["SUPERMAXX BHD"])
    assert fuzz.ratio("SUPERMAXX", "SUPERMAX") == pytest.approx(94.1176, abs=1e-4)
    assert out.similarity == 94.1


def test_a_firm_published_under_many_spellings_takes_one_place_among_the_candidates():
    """Five spellings of one firm that fails the word check must not hide the next firm.

    The best few candidates are checked in turn; "SHAR HUAFU" scores highest but is not
    "STAR HUAFU". Its legal-form variants are one candidate, so "STAR HUAFU ... GROUP" is
    still reached.
    """
    shar = "Shar Huafu Textile Mills"
    spellings = [f"{shar} {form}" for form in ("Limited", "Co., Ltd.", "Corp", "Inc")]
    m = EntityMatcher(
        _table(
            ("X-1", f"{shar} Co Ltd", "|".join(spellings), "UFLPA"),
            ("X-2", "Star Huafu Textile Mills Group", "", "WRO"),
        )
    )
    (out,) = m.match(["STAR HUAFU TEXTILE MILLS CO LTD"])
    assert out.entity_id == "X-2"
    assert 88.0 <= out.similarity < 90.0


def test_a_matcher_over_an_empty_table_matches_nothing():
    """A reference snapshot with no listed entity yet: every name is unmatched, none fails."""
    empty = _table(("X-1", "", "", "UFLPA")).iloc[:0]
    m = EntityMatcher(empty)
    out = m.match(["XPCC", "HOSHINE SILICON", ""])
    assert out == [NO_MATCH, NO_MATCH, NO_MATCH]
    assert m.hits(["XPCC"]) == set()


def test_one_matcher_shows_each_declared_transliteration_as_declared():
    """The spelling shown is remembered per declared name, not once per entity."""
    m = EntityMatcher()
    out = m.match(["HOTAN HAOLIN HAIR ACCESSORIES", "HETIAN HAOLIN HAIR ACCESSORIES CO LTD"])
    assert [o.entity_id for o in out] == ["UFLPA-0010", "UFLPA-0010"]
    assert [o.matched_alias for o in out] == [
        "Hotan Haolin Hair Accessories",
        "Hetian Haolin Hair Accessories Co. Ltd.",
    ]
    again = m.match(["HETIAN HAOLIN HAIR ACCESSORIES CO LTD", "HOTAN HAOLIN HAIR ACCESSORIES"])
    assert [o.matched_alias for o in again] == [out[1].matched_alias, out[0].matched_alias]


def test_a_word_found_through_a_typo_does_not_excuse_another_missing():
    """Each query has one alias word with a typo (found) and the other too far off (missing)."""
    from rapidfuzz import fuzz

    m = EntityMatcher(_table(("X-1", "Kizilsu Taklimakan Textile Co", "", "UFLPA")))
    queries = ["KIZILSO TAKLIMAXYN TEXTILE", "KIZILXY TAKLIMAKAM TEXTILE"]
    for q in queries:
        assert fuzz.ratio(q, "KIZILSU TAKLIMAKAN TEXTILE") >= m.min_similarity
    assert [pd.isna(o.entity_id) for o in m.match(queries)] == [True, True]
    assert m.match(["KIZILSO TAKLIMAKAM TEXTILE"])[0].entity_id == "X-1"  # both typos found


def test_a_missing_name_normalises_to_nothing():
    """A missing cell (NaN from a frame, None from JSON) is no name, never the text 'nan'."""
    assert normalize_name(float("nan")) == ""
    assert normalize_name(None) == ""  # type: ignore[arg-type]


def test_a_chinese_legal_form_is_dropped_like_a_latin_one():
    """股份有限公司 ("company limited by shares") says what kind of firm it is, not which."""
    assert normalize_name("华孚时尚股份有限公司") == normalize_name("华孚时尚")
    assert normalize_name("新疆华孚有限责任公司") == normalize_name("新疆华孚")


@pytest.mark.parametrize(
    ("declared", "shown"),
    [
        ("HOTAN HAOLIN HAIR CO", "Hotan Haolin Hair"),
        ("HETIAN HAOLIN HAIR CO", "Hetian Haolin Hair"),
    ],
)
def test_a_firm_with_two_spellings_shows_the_one_declared(declared, shown):
    """Two published spellings that normalise alike: the officer sees the one declared,
    whichever of the two the match was found through."""
    table = _table(("X-1", "Hotan Haolin Hair", "Hetian Haolin Hair", "UFLPA"))
    (out,) = EntityMatcher(table).match([declared])
    assert out.entity_id == "X-1"
    assert out.matched_alias == shown


def test_a_pinyin_apostrophe_dropped_on_the_manifest_still_matches():
    """Published "Zhunge'er", declared "ZHUNGEER": the syllables glued once the mark is gone."""
    matcher = EntityMatcher()
    out = matcher.match(
        ["XINJIANG ZHUNGEER COTTON AND LINEN CO LTD", "XINJIANG ZHUNGE'ER COTTON & LINEN"]
    )
    assert [m.entity_id for m in out] == ["UFLPA-0019", "UFLPA-0019"]
    # Shown as published, apostrophe and all.
    assert out[0].matched_alias == "Xinjiang Zhunge'er Cotton and Linen"


def test_an_ascii_name_folds_as_the_unicode_steps_fold_it():
    from models.reference.entities import _fold, _fold_unicode

    ascii_texts = [chr(c) for c in range(128)] + [
        "".join(map(chr, range(128))),
        "Hoshine Silicon Ind. (Shanshan) Co., Ltd",
        "aksu huafu\ttextiles\n",
    ]
    for text in ascii_texts:
        assert _fold(text) == _fold_unicode(text), repr(text)


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Ürümqi Café", "URUMQI CAFE"),  # diacritics go
        ("ＡＣＭＥ ｌｔｄ", "ACME LTD"),  # full-width forms become ASCII (NFKC)
        ("ﬁber", "FIBER"),  # a ligature is two letters
        ("新疆棉业有限公司", "新疆棉业 "),  # the Chinese legal form is blanked out
        ("straße", "STRASSE"),
    ],
)
def test_a_name_beyond_ascii_takes_the_unicode_steps(name, folded):
    from models.reference.entities import _fold

    assert _fold(name) == folded


def test_a_matcher_keeps_a_bounded_cache_and_matches_as_an_unbounded_one(monkeypatch):
    """Past its size the cache starts again; names asked again are matched again, alike."""
    import models.reference.entities as entities

    listed = ["Hoshine Silicon Industry Co", "Xinjiang Zhongtai Chemical Co"]
    batches = [[f"Trading Firm {i} {j}" for j in range(15)] + listed for i in range(6)]
    batches.append(batches[0])  # names dropped long ago, asked again
    unbounded = EntityMatcher()
    expected = [unbounded.match(names) for names in batches]
    keys = [unbounded.normalize(n) for n in listed]
    expected_hits = unbounded.hits(keys)
    assert len(expected_hits) == 2 and len(unbounded._cache) == 6 * 15 + 2

    monkeypatch.setattr(entities, "CACHED_NAMES", 20)
    bounded = EntityMatcher()
    for names, want in zip(batches, expected, strict=True):
        assert bounded.match(names) == want
        assert len(bounded._cache) <= 20
    assert bounded.hits(keys) == expected_hits


def test_threads_sharing_a_bounded_matcher_get_every_match(monkeypatch):
    """Caches replaced under other threads' feet never turn a listed firm into no match."""
    import sys
    import threading

    import models.reference.entities as entities

    listed = ["Hoshine Silicon Industry Co", "Xinjiang Zhongtai Chemical Co"]
    want = [m.entity_id for m in EntityMatcher().match(listed)]
    monkeypatch.setattr(entities, "CACHED_NAMES", 8)
    shared = EntityMatcher()
    wrong: list[object] = []

    def work(t: int) -> None:
        try:
            for i in range(60):
                names = [f"Firm {t} {i} {j}" for j in range(5)] + listed
                got = [m.entity_id for m in shared.match(names)[-2:]]
                hit = shared.hits([shared.normalize(n) for n in listed])
                if got != want or len(hit) != 2:
                    wrong.append((t, i, got, hit))
        except Exception as exc:  # a dict changed during iteration, a missing key
            wrong.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns every few bytecodes: races show
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(before)
    assert not wrong, wrong[:3]


def test_a_name_is_matched_once_and_the_cache_fills_to_its_size(monkeypatch):
    """Names seen before cost a look-up; the cache keeps exactly ``CACHED_NAMES`` names."""
    import models.reference.entities as entities

    monkeypatch.setattr(entities, "CACHED_NAMES", 20)
    matcher = EntityMatcher()
    asked: list[str] = []
    match_new = matcher._match_new
    monkeypatch.setattr(matcher, "_match_new", lambda q: asked.extend(q) or match_new(q))
    first = [f"Trading Firm {j}" for j in range(10)]
    matcher.match(first)
    matcher.match([*first, "Hoshine Silicon Industry Co"])
    assert asked == [*sorted(matcher.normalize(n) for n in first), "HOSHINE SILICON INDUSTRY"]
    matcher.match([f"Other Firm {j}" for j in range(9)])
    assert len(matcher._cache) == 20  # full, not yet started again
    matcher.match(["One More Firm"])
    assert len(matcher._cache) == 1
