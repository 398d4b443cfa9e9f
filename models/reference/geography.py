"""Xinjiang place detection in free-text addresses and descriptions.

Spellings come from ``xinjiang_places.csv``. Latin spellings match on word boundaries after
folding case and diacritics (``Ürümqi`` = ``URUMQI``, but ``Hami`` is not found in
``Hamilton``); Chinese spellings match anywhere, as Chinese has no spaces.

Some Latin spellings are also ordinary words or places elsewhere (Kashi is Varanasi, Bole
a district of Addis Ababa, Xinxing a county of Guangdong, Altay a Russian republic). Those
count only with context: another, unambiguous Xinjiang term in the same text, or a mention
of China without any other Chinese province.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

from models.reference.tables import load_xinjiang_places

# Spellings that are common words or places outside Xinjiang (folded to upper case).
NEEDS_CONTEXT = frozenset(
    {
        "ALTAI",
        "ALTAY",
        "AKSU",
        "ARAL",
        "BAIYANG",
        "BAZHOU",
        "BOLE",
        "BOHU",
        "EMIN",
        "FUHAI",
        "FUKANG",
        "GUCHENG",
        "GUMA",
        "ILI",
        "JINGHE",
        "KABA",
        "KASHI",
        "KUNYU",
        "LOP",
        "MANAS",
        "NIYA",
        "QIRA",
        "SHANSHAN",
        "SHAWAN",
        "SHAYA",
        "SHIHU",
        "SHUANGHE",
        "SHULE",
        "TEKES",
        "XINXING",
        "YILI",
        "YUTIAN",
    }
)

_CHINA = re.compile(r"\b(CHINA|PRC|P\.R\.C|CN)\b")
# Other provinces: a text naming one of them with an ambiguous spelling is not Xinjiang.
_OTHER_PROVINCES = re.compile(
    r"\b(ANHUI|BEIJING|CHONGQING|FUJIAN|GANSU|GUANGDONG|GUANGXI|GUIZHOU|HAINAN|HEBEI|"
    r"HEILONGJIANG|HENAN|HUBEI|HUNAN|JIANGSU|JIANGXI|JILIN|LIAONING|INNER MONGOLIA|NINGXIA|"
    r"QINGHAI|SHAANXI|SHANDONG|SHANGHAI|SHANXI|SICHUAN|TIANJIN|TIBET|YUNNAN|ZHEJIANG|"
    r"HONG KONG|MACAU|TAIWAN)\b"
)
_POSTAL = re.compile(r"(?<!\d)(8[34]\d{4})(?!\d)")
_WORD = re.compile(r"[A-Z0-9]+")
_KIND_RANK = {"region": 0, "prefecture": 1, "city": 2, "county": 2}


def fold(text: str) -> str:
    """Upper-case ``text`` with diacritics removed (``Ürümqi`` -> ``URUMQI``)."""
    if text.isascii():
        # ASCII decomposes to itself and holds no combining mark: only the case changes.
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


class PlaceIndex:
    """Compiled patterns and the place facts of every spelling (of one place table)."""

    def __init__(self, places: pd.DataFrame) -> None:
        self.info: dict[str, tuple[str, int]] = {}  # folded variant -> (canonical, rank)
        latin: list[str] = []
        cjk: list[str] = []
        for row in places.itertuples(index=False):
            key = fold(str(row.variant)).strip()
            if not key:
                continue
            rank = _KIND_RANK.get(str(row.kind), 1)
            self.info.setdefault(key, (str(row.canonical), rank))
            (cjk if _is_cjk(key) else latin).append(key)
        # Longest first, so "XINJIANG UYGUR AUTONOMOUS REGION" wins over "XINJIANG".
        latin_sorted = sorted(set(latin), key=len, reverse=True)
        cjk_sorted = sorted(set(cjk), key=len, reverse=True)
        latin_alt = "|".join(re.escape(v).replace(r"\ ", r"[\s\-]+") for v in latin_sorted)
        # Boundaries: not inside a Latin word or number ("HAMILTON", "ARALIA", "LOP123").
        self.latin = re.compile(rf"(?<![A-Z0-9])(?:{latin_alt})(?![A-Z0-9])")
        # A Latin match begins a word of the text (a run of A-Z0-9) that is its spelling's
        # first word, so a text without any of these words holds no match (None: no such
        # shortcut, for spellings that do not begin with a letter or digit).
        firsts = [_WORD.match(v) for v in latin_sorted]
        self.first_words = frozenset(m.group(0) for m in firsts if m) if all(firsts) else None
        self.cjk = re.compile("|".join(re.escape(v) for v in cjk_sorted)) if cjk_sorted else None

    def find(self, text: str) -> tuple[bool, str, str, bool]:
        """Xinjiang check of one text (see :func:`find_xinjiang`)."""
        folded = fold(text)
        found: list[str] = []
        if self.first_words is None or not self.first_words.isdisjoint(_WORD.findall(folded)):
            found = [re.sub(r"[\s\-]+", " ", m.group(0)) for m in self.latin.finditer(folded)]
        if self.cjk is not None:
            found += [m.group(0) for m in self.cjk.finditer(text)]
        postal = _POSTAL.search(folded) is not None
        terms = list(dict.fromkeys(found))
        strong = [t for t in terms if t not in NEEDS_CONTEXT]
        if not strong and terms:
            in_china = _CHINA.search(folded) is not None or "中国" in text
            if not (in_china and _OTHER_PROVINCES.search(folded) is None):
                terms = []
        if not terms:
            return False, "", "", postal
        place = max(terms, key=lambda t: (self.info[t][1], len(t)))
        return True, "|".join(terms), self.info[place][0], postal


@lru_cache(maxsize=1)
def _default_index() -> PlaceIndex:
    return PlaceIndex(load_xinjiang_places())


def find_xinjiang(
    texts: list[str], places: pd.DataFrame | None = None, index: PlaceIndex | None = None
) -> list[tuple[bool, str, str, bool]]:
    """Find Xinjiang place names and postal codes in free texts.

    Args:
        texts: Addresses or descriptions (``""`` for none).
        places: Place table (default: :func:`models.reference.tables.load_xinjiang_places`).
        index: A :class:`PlaceIndex` already built (a reference snapshot's); wins over
            ``places``.

    Returns:
        Per text, ``(xj_hit, xj_terms, xj_place, xj_postal)``: a Xinjiang place name was
        found; the ``|``-joined spellings found, upper-cased as matched (``""`` if none);
        the canonical name of the most specific place found; a 6-digit token
        830000-849999 (Xinjiang's postal range) was found.
    """
    if index is None:
        index = _default_index() if places is None else PlaceIndex(places)
    return [index.find(t) for t in texts]


def is_xinjiang_subdivision(code: str) -> bool:
    """Whether an ISO 3166-2 or GB/T 2260 code denotes Xinjiang (``CN-XJ``, ``CN-65``, ``65``).

    Args:
        code: Subdivision code as found in a data set, any case.

    Returns:
        True for Xinjiang's ISO 3166-2 code (current ``CN-XJ`` or former ``CN-65``) and
        the GB/T 2260 province prefix ``65`` (e.g. ``650100`` for Urumqi).
    """
    value = str(code).strip().upper().replace("_", "-")
    if value in {"CN-XJ", "CN-65", "XJ"}:
        return True
    digits = value.removeprefix("CN-")
    return digits.isdigit() and digits.startswith("65") and len(digits) in (2, 4, 6)
