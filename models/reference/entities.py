"""Matching declared company names against the UFLPA Entity List and CBP WRO/Findings.

Names on entry lines are typed by brokers and shippers: upper case, abbreviated (``IND``,
``CO LTD``), with or without the place in brackets. Both sides are normalised the same way
(:func:`normalize_name`), then compared with a token-sort ratio, which ignores word order
but, unlike a token-set ratio, does not give 100 to a name that is merely a subset of
another ("TEXTILE" inside "AKSU HUAFU TEXTILE"). A match must also contain every
distinctive word of the alias (not "TEXTILE", "XINJIANG", "TRADING" ...), allowing a typo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from models.contract.batch import is_small
from models.reference.listings import Listings
from models.reference.tables import load_entities, place_spellings

# Legal-form words carry no identity: "HOSHINE ... CO LTD" and "HOSHINE ... LIMITED" are one.
LEGAL_FORMS = frozenset(
    {
        "CO",
        "COMPANY",
        "CORP",
        "CORPORATION",
        "INC",
        "INCORPORATED",
        "LTD",
        "LIMITED",
        "LLC",
        "PLC",
        "BHD",
        "BERHAD",
        "SDN",
        "PTE",
        "PVT",
        "GMBH",
        "SA",
        "LTDA",
        "JSC",
        "THE",
        "OF",
        "AND",
    }
)
_LONG_LEGAL_FORMS = tuple(form for form in LEGAL_FORMS if len(form) >= 6)
# Manifest abbreviations, plurals and spelling variants mapped to one spelling.
SYNONYMS = {
    "IND": "INDUSTRY",
    "INDS": "INDUSTRY",
    "INDUS": "INDUSTRY",
    "INDUSTRIES": "INDUSTRY",
    "INDUSTRIAL": "INDUSTRY",
    "INTL": "INTERNATIONAL",
    "TECH": "TECHNOLOGY",
    "TECHNOL": "TECHNOLOGY",
    "TECHNOLOGIES": "TECHNOLOGY",
    "MFG": "MANUFACTURING",
    "MFR": "MANUFACTURING",
    "TEXTILES": "TEXTILE",
    "TEX": "TEXTILE",
    "PRODUCTS": "PRODUCT",
    "PRODS": "PRODUCT",
    "MATERIALS": "MATERIAL",
    "METALS": "METAL",
    "HOLDINGS": "HOLDING",
    "GRP": "GROUP",
    "DEV": "DEVELOPMENT",
    "ELEC": "ELECTRONIC",
    "ELECTRONICS": "ELECTRONIC",
    "NONFERROUS": "NON FERROUS",
    "UIGHUR": "UYGHUR",
    "UYGUR": "UYGHUR",
    "NO": "NUMBER",
}
# Chinese legal forms, stripped like their English counterparts.
_CJK_LEGAL = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团|公司)")
# Words shared by many listed and unlisted firms: a match needs more than these in common.
GENERIC = frozenset(
    {
        "XINJIANG",
        "CHINA",
        "TEXTILE",
        "INDUSTRY",
        "TRADE",
        "TRADING",
        "GARMENT",
        "APPAREL",
        "INTERNATIONAL",
        "TECHNOLOGY",
        "NEW",
        "ENERGY",
        "MATERIAL",
        "FOOD",
        "FOODS",
        "GROUP",
        "HOLDING",
        "DEVELOPMENT",
        "IMPORT",
        "EXPORT",
        "MANUFACTURING",
        "PRODUCT",
        "HAIR",
        "COTTON",
        "LINEN",
        "ELECTRONIC",
        "METAL",
        "NON",
        "FERROUS",
        "SILICON",
        "SOLAR",
        "CHEMICAL",
        "BIOTECHNOLOGY",
        "LOGISTICS",
        "COUNTY",
        "CITY",
        "BRANCH",
        "FACTORY",
        "ECONOMIC",
        "GENERAL",
        "MINING",
        "GOLD",
        "COPPER",
        "MAGNESIUM",
        "SAFETY",
        "WAREHOUSING",
        "NUMBER",
        "SHOES",
        "WESTERN",
        "SUGAR",
        "GLOVE",
        "MANAGEMENT",
        "INFORMATION",
    }
)
_CHUNK = 10_000  # queries per cdist call: bounds the memory of the score matrix
_TOP_K = 5
# The memo's entry of a name that matches nothing: (row, choice, similarity).
_NO_HIT = (-1, -1, 0.0)
# Names whose outcome a matcher keeps (about 200 bytes each): a server meets new names every
# day, so past this the cache starts again (names that come back are matched again).
CACHED_NAMES = 200_000
_TOKEN_SIMILARITY = 85.0  # one typo in a word of 7+ letters, a missing letter in 4+
_LONG_GENERIC_WORDS = 4
_LONG_GENERIC_SIMILARITY = 95.0


class EntityMatch(NamedTuple):
    """What a declared name matched: the listed entity, the alias, the similarity (0-100)."""

    entity_id: Any
    entity_name: str
    matched_alias: str
    similarity: float
    list: str
    citation: str


NO_MATCH = EntityMatch(pd.NA, "", "", 0.0, "", "")
MATCH_COLUMNS = EntityMatch._fields

_NON_WORD = re.compile(r"[^0-9A-Z\u4e00-\u9fff]+")


def normalize_name(
    name: str, one_place_spelling: bool = True, spellings: Mapping[str, str] | None = None
) -> str:
    """Normalise a company name for matching.

    Steps: fold diacritics and case to upper-case ASCII (Chinese characters are kept),
    replace punctuation and brackets by spaces (``(SHANSHAN)`` -> ``SHANSHAN``), expand
    manifest abbreviations (``IND`` -> ``INDUSTRY``, ``INTL`` -> ``INTERNATIONAL``), spell
    Xinjiang places one way (``SANJI`` -> ``CHANGJI``, ``HETIAN`` -> ``HOTAN``), drop
    legal-form words (``CO``, ``LTD``, ``LIMITED``, ``CORP``, ``INC``, ``BHD`` ...).

    Args:
        name: Name as declared or published; ``None``-like values give ``""``.
        one_place_spelling: Spell Xinjiang places one way (off: to show an officer the
            published spelling closest to the declared one).
        spellings: Place spellings to use (a reference snapshot's); default: the current
            place table's.

    Returns:
        Space-separated tokens, e.g. ``"HOSHINE SILICON INDUSTRY SHANSHAN"``.
    """
    if not isinstance(name, str) or not name:
        return ""
    text = _fold(name)
    if not one_place_spelling:
        spellings = {}
    places = place_spellings() if spellings is None else spellings
    tokens: list[str] = []
    for token in _NON_WORD.sub(" ", text).split():
        for part in SYNONYMS.get(token, token).split():
            if not _is_legal_form(part):
                tokens.append(places.get(part, part))
    return " ".join(tokens)


def _fold(name: str) -> str:
    """``name`` upper-cased without diacritics, its Chinese legal forms blanked out."""
    # NFKC and NFKD leave ASCII as it is: no combining mark, no Chinese character.
    if name.isascii():
        return name.upper()
    return _fold_unicode(name)


def _fold_unicode(name: str) -> str:
    """:func:`_fold` of any text: compatibility forms, Chinese legal forms, diacritics."""
    text = unicodedata.normalize("NFKC", name)
    text = _CJK_LEGAL.sub(" ", text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


@lru_cache(maxsize=65_536)
def _is_legal_form(token: str) -> bool:
    # Long legal forms are often misspelt on manifests ("LMITED", "CORPRATION", "BRHAD").
    if token in LEGAL_FORMS:
        return True
    return len(token) >= 5 and any(fuzz.ratio(token, form) >= 80.0 for form in _LONG_LEGAL_FORMS)


def _distinctive(normalized: str) -> set[str]:
    return {t for t in normalized.split() if t not in GENERIC and len(t) > 1}


def _shares_distinctive(alias_tokens: set[str], query: str) -> bool:
    """Whether the query holds every distinctive word of the alias, allowing a typo.

    Typos ("DAQ" for "DAQO") and glued words ("TANYUANTECHNOLOGY") still count. Sharing
    only generic words ("TEXTILE", "XINJIANG"), or only some distinctive ones ("STAR HUAFU"
    for "ALAR HUAFU"), does not.
    """
    query_tokens = set(query.split())
    glued = query.replace(" ", "")
    for token in alias_tokens:
        if token in query_tokens or (len(token) >= 4 and token in glued):
            continue
        if any(fuzz.ratio(token, other) >= _TOKEN_SIMILARITY for other in query_tokens):
            continue
        return False
    return True


_NUMBER = re.compile(r"[0-9]+")


def _numbers(text: str) -> frozenset[str]:
    """The numbers written in a name, glued to a word or not (``NO4`` holds ``4``)."""
    return frozenset(_NUMBER.findall(text))


def _sort_tokens(text: str) -> str:
    """Words sorted, one space apart (``token_sort_ratio`` is ``ratio`` of these).

    Exact for normalised names (single spaces); rapidfuzz does not split on U+00A0 or
    U+0085 where ``str.split`` does.
    """
    return " ".join(sorted(text.split()))


class EntityMatcher:
    """Fuzzy, alias-aware matcher of company names against the listed entities.

    Results are cached per distinct normalised name on the instance (up to
    ``CACHED_NAMES``), so scoring the same suppliers again (next file, next API call) costs
    a dictionary lookup.
    """

    def __init__(
        self,
        entities: pd.DataFrame | None = None,
        min_similarity: float = 88.0,
        spellings: Mapping[str, str] | None = None,
    ) -> None:
        """Index every name and alias of ``entities`` (default: the current table).

        ``spellings`` are the place spellings names are normalised with (default: the
        current place table's); a reference snapshot passes its own.
        """
        table = load_entities() if entities is None else entities
        self.min_similarity = float(min_similarity)
        self.spellings = place_spellings() if spellings is None else dict(spellings)
        self.listings = Listings(table, lambda name: normalize_name(name, spellings=self.spellings))
        self._choice_text: list[str] = []  # normalised name or alias
        self._choice_shown: list[str] = []  # the name or alias as published
        self._choice_row: list[int] = []  # row of `table` it belongs to
        self._rows: list[tuple[str, str, str, str]] = []  # entity_id, name, list, citation
        seen: set[tuple[str, int]] = set()
        for row_no, row in enumerate(table.itertuples(index=False)):
            self._rows.append((str(row.entity_id), str(row.name), str(row.list), str(row.citation)))
            published = [p.strip() for p in (str(row.name), *str(row.aliases).split("|"))]
            # A pinyin apostrophe splits syllables ("Zhunge'er"); manifests mostly drop it
            # and glue the syllables, so that spelling is indexed too, shown as published.
            indexed = [(p, p) for p in published]
            indexed += [(p.replace("'", ""), p) for p in published if "'" in p]
            for spelling, shown in indexed:
                key = normalize_name(spelling, spellings=self.spellings)
                # Kept apart: transliterations that normalise alike, so each can be shown.
                plain = normalize_name(spelling, one_place_spelling=False)
                if key and (plain, row_no) not in seen:
                    seen.add((plain, row_no))
                    self._choice_text.append(key)
                    self._choice_shown.append(shown)
                    self._choice_row.append(row_no)
        self._choice_tokens = [_distinctive(text) for text in self._choice_text]
        self._choice_sorted = [_sort_tokens(text) for text in self._choice_text]
        self._choice_numbers = [_numbers(text) for text in self._choice_text]
        self._cache: dict[str, tuple[int, int, float]] = {}  # norm -> (row, choice, score)
        self._choice_plain = [
            normalize_name(t, one_place_spelling=False) for t in self._choice_shown
        ]
        self._shown: dict[tuple[int, str], int] = {}  # (row, declared) -> choice shown
        self._row_choices: dict[int, list[int]] = {}
        for choice, row_no in enumerate(self._choice_row):
            self._row_choices.setdefault(row_no, []).append(choice)

    def _accept(self, query: str, choice: int, score: float) -> bool:
        # Only candidates at or above the threshold reach here (``_match_chunk`` stops at the
        # first one under it).
        # A number tells apart vessels, centres and warehouses whose names are otherwise
        # the same ("YU LONG NO 3" is not "YU LONG NO 2", however close the spelling).
        if not self._choice_numbers[choice] <= _numbers(query):
            return False
        alias_tokens = self._choice_tokens[choice]
        if not alias_tokens:
            # Alias made only of generic words: exact when short ("XINJIANG ENERGY"), a
            # near-exact spelling when long enough to be specific on its own.
            if len(self._choice_text[choice].split()) >= _LONG_GENERIC_WORDS:
                return score >= _LONG_GENERIC_SIMILARITY
            # Same words in another order ("GROUP XINJIANG ENERGY") are the same name.
            return _sort_tokens(query) == self._choice_sorted[choice]
        # Short aliases ("XPCC", "FGV") are acronyms: any fuzziness is a different firm.
        if len(self._choice_text[choice]) < 8 and query != self._choice_text[choice]:
            return False
        return _shares_distinctive(alias_tokens, query)

    def _match_names(self, normalized: list[str]) -> dict[str, tuple[int, int, float]]:
        """The outcome of each distinct name (``_NO_HIT`` for none), matched once per cache.

        Threads of a server share the matcher: the outcomes are gathered here, never read
        back from the cache, which another thread may replace meanwhile. A cache that would
        pass ``CACHED_NAMES`` is replaced by the new outcomes (a dict is never emptied in
        place while another thread reads it).
        """
        cache = self._cache
        known = {n: cache.get(n) for n in set(normalized) if n}
        found = self._match_new(sorted(n for n, hit in known.items() if hit is None))
        if found:
            if len(cache) + len(found) > CACHED_NAMES:
                self._cache = found
            else:
                cache.update(found)
            known.update(found)  # in place: a re-screen asks this of every stored name
        return known  # type: ignore[return-value]  # every None was matched in found

    def _match_new(self, queries: list[str]) -> dict[str, tuple[int, int, float]]:
        if not queries or not self._choice_text:
            return dict.fromkeys(queries, _NO_HIT)
        found: dict[str, tuple[int, int, float]] = {}
        for start in range(0, len(queries), _CHUNK):
            found.update(self._match_chunk(queries[start : start + _CHUNK]))
        return found

    def _match_chunk(self, queries: list[str]) -> dict[str, tuple[int, int, float]]:
        # Token-sort ignores word order; the plain ratio survives a typo in a first letter,
        # which moves a word in the sorted order ("INJIANG" for "XINJIANG"). Token-sort is
        # the plain ratio of the word-sorted texts, so the aliases are sorted once, here.
        # A few queries run in the calling thread: starting cdist's workers costs more.
        workers = 1 if is_small(len(queries)) else -1
        scores = np.maximum(
            process.cdist(
                [_sort_tokens(q) for q in queries],
                self._choice_sorted,
                scorer=fuzz.ratio,
                dtype=np.float32,
                workers=workers,
                score_cutoff=self.min_similarity,
            ),
            process.cdist(
                queries,
                self._choice_text,
                scorer=fuzz.ratio,
                dtype=np.float32,
                workers=workers,
                score_cutoff=self.min_similarity,
            ),
        )
        # Keep the best few candidates: the best-scoring one may fail the generic guard.
        k = min(_TOP_K, scores.shape[1])
        hit_rows = np.flatnonzero(scores.max(axis=1) >= self.min_similarity)
        top = np.argpartition(-scores[hit_rows], k - 1, axis=1)[:, :k]
        found = dict.fromkeys(queries, _NO_HIT)
        for j, i in enumerate(hit_rows):
            query = queries[i]
            result = _NO_HIT
            candidates = sorted(top[j], key=lambda c: (-scores[i, c], c))
            for choice in candidates:
                score = float(scores[i, choice])
                if score < self.min_similarity:
                    break
                if self._accept(query, int(choice), score):
                    result = (self._choice_row[int(choice)], int(choice), round(score, 1))
                    break
            found[query] = result
        return found

    def _closest_spelling(self, row: int, choice: int, declared: str) -> str:
        """The entity's published spelling an officer will recognise in the declared name.

        With places spelt one way, "HOTAN HAOLIN" equals both "Hotan Haolin" and "Hetian
        Haolin"; the one shown is the closest to what was declared.
        """
        choices = self._row_choices[row]
        if len(choices) == 1:
            return self._choice_shown[choice]
        plain = normalize_name(declared, one_place_spelling=False)
        key = (row, plain)
        if key not in self._shown:
            self._shown[key] = max(
                choices,
                key=lambda c: (
                    fuzz.token_sort_ratio(plain, self._choice_plain[c]),
                    c == choice,
                ),
            )
        best = self._shown[key]
        return self._choice_shown[best]

    def normalize(self, name: str) -> str:
        """``name`` normalised as this matcher normalises declared names."""
        return normalize_name(name, spellings=self.spellings)

    def hits(self, normalized: list[str]) -> set[str]:
        """Which of these normalised names match an entity (one pass over distinct names).

        A re-screen asks this of every name it stored, normalised once when indexed, then
        calls :meth:`match` on the few that hit.
        """
        found = self._match_names(normalized)
        return {n for n, (row, _choice, _score) in found.items() if row >= 0}

    def match(self, names: list[str]) -> list[EntityMatch]:
        """Match declared company names against the listed entities.

        Args:
            names: Declared names (manufacturer, shipper ...); ``""`` never matches.

        Returns:
            Per name, its :class:`EntityMatch` (``entity_id`` is ``pd.NA`` and
            ``similarity`` 0.0 when nothing matches).
        """
        normalized = [normalize_name(v, spellings=self.spellings) for v in names]
        found = self._match_names(normalized)
        out: list[EntityMatch] = []
        for name, norm in zip(names, normalized, strict=True):
            row, choice, score = found.get(norm, _NO_HIT)
            if row < 0:
                out.append(NO_MATCH)
            else:
                entity_id, entity_name, listed, citation = self._rows[row]
                shown = self._closest_spelling(row, choice, name)
                out.append(EntityMatch(entity_id, entity_name, shown, score, listed, citation))
        return out
