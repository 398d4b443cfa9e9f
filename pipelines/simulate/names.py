"""Company names, addresses, MIDs and the manifest spellings of listed entities.

All randomness comes from the simulation's numpy Generator; these helpers run once per
actor (a few thousand), never per line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from pipelines.simulate.countries import City, CountryProfile

_PUNCT = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r"\s+")
_ANNOTATION = re.compile(
    r"\s*\((WRO|fishing vessel|[^)]*government[^)]*)\)|\s+and subsidiaries", re.I
)
# Words CBP's MID rule skips when taking the first two words of a name.
_MID_SKIP = {"THE", "A", "AN", "AND", "OF", "&", "PT", "CV", "SA"}
_ABBREV = {
    "INDUSTRY": "IND",
    "INDUSTRIAL": "IND",
    "INDUSTRIES": "INDS",
    "COMPANY": "CO",
    "LIMITED": "LTD",
    "CORPORATION": "CORP",
    "PRODUCTS": "PRODS",
    "INTERNATIONAL": "INTL",
    "TECHNOLOGY": "TECH",
    "MANUFACTURING": "MFG",
    "GROUP": "GRP",
    "TRADING": "TRDG",
    "DEVELOPMENT": "DEV",
    "MATERIALS": "MATL",
}
# Wade-Giles and other romanisations seen on manifests for pinyin syllables.
_ROMANISE = (("XINJIANG", "SINKIANG"), ("ZH", "CH"), ("X", "HS"), ("Q", "CH"), ("J", "CH"))


def manifest_name(listed_name: str) -> str:
    """A listed entity's name as a company would write it (list annotations removed)."""
    return _ANNOTATION.sub("", listed_name).strip(" ,")


def pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    """One item, uniformly."""
    return items[int(rng.integers(len(items)))]


def normalize(name: str) -> str:
    """Upper case, punctuation dropped, spaces collapsed: what an exact-match rule compares."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", name.upper())).strip()


def company_name(
    rng: np.random.Generator, profile: CountryProfile, industry: str, city: str
) -> str:
    """A plausible company name in the country's style."""
    template = pick(rng, profile.legal)
    return template.format(brand=pick(rng, profile.brands), industry=industry, city=city)


def street(rng: np.random.Generator, profile: CountryProfile) -> str:
    """A street line with a number."""
    number = int(rng.lognormal(3.5, 1.0)) + 1
    return pick(rng, profile.streets).format(n=number, w=pick(rng, profile.street_words))


def postal_code(rng: np.random.Generator, prefix: str, length: int) -> str:
    """A postal code starting with ``prefix``, padded with digits to ``length``."""
    if not prefix.isdigit():  # Canadian-style codes: keep the forward sortation area
        return f"{prefix} {int(rng.integers(1, 10))}A{int(rng.integers(1, 10))}"
    pad = max(length - len(prefix), 0)
    return prefix + "".join(str(d) for d in rng.integers(0, 10, pad))


def address(street_line: str, city: str, region: str, postal: str, country: str) -> str:
    """Free-text address, region omitted when empty."""
    parts = [street_line, city, f"{region} {postal}".strip() if region else postal, country]
    return ", ".join(p for p in parts if p)


def mid(iso2: str, name: str, street_line: str, city: str) -> str:
    """CBP Manufacturer ID: country, 3+3 name letters, up to 4 street digits, 3 city letters."""
    words = [w for w in normalize(name).split() if w not in _MID_SKIP]
    letters = "".join(w[:3] for w in words[:2])
    digits = re.search(r"\d+", street_line)
    number = digits.group(0)[:4] if digits else ""
    city_letters = normalize(city).replace(" ", "")[:3]
    return f"{iso2}{letters}{number}{city_letters}"


def random_city(
    rng: np.random.Generator, profile: CountryProfile, regions: Sequence[str] = ()
) -> City:
    """A city of the country, restricted to ``regions`` when given."""
    pool = [c for c in profile.cities if not regions or c.region in regions] or list(profile.cities)
    return pool[int(rng.integers(len(pool)))]


def _typo(rng: np.random.Generator, text: str) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = letters[int(rng.integers(1, len(letters) - 1))]
    kind = int(rng.integers(3))
    if kind == 0:  # adjacent swap
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:  # dropped letter
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]  # doubled letter


def _split_syllable(word: str) -> str:
    for i in range(3, len(word) - 2):
        if word[i - 1] in "AEIOUNG" and word[i] not in "AEIOUG":
            return f"{word[:i]} {word[i:]}"
    return word


def manifest_spellings(
    rng: np.random.Generator, name: str, aliases: Sequence[str], n_fuzzy: int = 8
) -> tuple[list[str], list[str]]:
    """How a listed entity's name appears on manifests.

    Args:
        rng: The simulation's generator.
        name: Canonical listed name.
        aliases: Published aliases.
        n_fuzzy: How many altered spellings to make.

    Returns:
        ``(exact, fuzzy)``: spellings equal to a listed name up to case and punctuation,
        and abbreviated, shortened, misspelt or re-romanised ones an exact rule misses.
    """
    listed = [s for s in (name, *aliases) if s.isascii() and normalize(s)] or ["UNNAMED"]
    exact = list(dict.fromkeys([*(s.upper() for s in listed), normalize(name)]))
    listed_norm = {normalize(s) for s in listed}
    fuzzy: list[str] = []
    for attempt in range(n_fuzzy * 4):
        base = normalize(pick(rng, listed)).split()
        kind = attempt % 5
        if kind == 0:
            words = [_ABBREV.get(w, w) for w in base]
        elif kind == 1 and len(base) > 2:
            drop = int(rng.integers(1, len(base)))
            words = base[:drop] + base[drop + 1 :]
        elif kind == 2:
            words = normalize(_typo(rng, " ".join(base))).split()
        elif kind == 3:
            j = int(rng.integers(len(base)))
            word = base[j]
            for old, new in _ROMANISE:
                if old in word:
                    word = word.replace(old, new, 1)
                    break
            else:
                word = _split_syllable(word)
            words = [*base[:j], word, *base[j + 1 :]]
        else:
            words = [_ABBREV.get(w, w) for w in base]
            if "CO" not in words and "LTD" not in words:
                words += ["CO", "LTD"]
            words = normalize(_typo(rng, " ".join(words))).split()
        spelling = " ".join(words)
        if normalize(spelling) not in listed_norm and spelling not in fuzzy:
            fuzzy.append(spelling)
        if len(fuzzy) >= n_fuzzy:
            break
    return exact, fuzzy
