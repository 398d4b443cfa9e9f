"""Xinjiang places named in free text (addresses, party names, goods descriptions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.features.cache import SignalCache
from models.features.distinct import spread, spread_text
from models.reference.geography import find_xinjiang


def xinjiang_checks(texts: list[str], cache: SignalCache) -> list[tuple[bool, str, str, bool]]:
    """Xinjiang check of each text, computed once per text per process."""
    new = [t for t in dict.fromkeys(texts) if t not in cache.places]
    if new:
        cache.places.update(
            zip(new, find_xinjiang(new, index=cache.reference.place_index), strict=True)
        )
    return [cache.places[t] for t in texts]


def xj_columns(found: list[tuple[bool, str, str, bool]], codes: np.ndarray) -> dict[str, Any]:
    """Spread per-text Xinjiang checks (``find_xinjiang`` tuples) to the lines' columns."""
    hit, terms, place, postal = zip(*found, strict=True)
    return {
        "hit": spread(hit[:-1], codes, hit[-1], "float64"),
        "terms": spread_text(terms[:-1], codes, terms[-1], "str"),
        "place": spread_text(place[:-1], codes, place[-1], "str"),
        "postal": spread(postal[:-1], codes, postal[-1], "float64"),
    }
