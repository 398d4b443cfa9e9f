"""The UFLPA presumption and WRO detentions: law, not a statistic.

Goods made wholly or in part in Xinjiang, or by an entity on the UFLPA Entity List, are
presumed made with forced labour; a Withhold Release Order or a Finding does the same for a
named producer's goods. A line is presumed when, on its entry date:

- ``uflpa_entity``: its manufacturer or shipper resolves to a UFLPA Entity List listing in
  force (see :mod:`models.reference.listings`);
- ``xinjiang``: its manufacturer's or shipper's address or name, or its goods description,
  places production in Xinjiang (:mod:`models.reference.geography`, with its guards
  against ambiguous spellings);
- ``wro``: its manufacturer or shipper resolves to a WRO or Finding in force.

The score stays the calibrated probability; ``presumption`` says why a line ranks first.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from models.features.distinct import factorize, spread

ROLES = ("mfr", "shp")
# Signals that name a Xinjiang place (1.0 when found). A postal code in Xinjiang's range
# alone is a model feature, not a presumption: a number in an address can fall in the range.
XINJIANG_SIGNALS = ("mfr_xj", "shp_xj", "names_xj", "desc_xj")
# The order of the bases in a joined ``presumption`` value.
BASES = ("uflpa_entity", "xinjiang", "wro")
# The UFLPA's rebuttable presumption applies to goods entered from this day.
UFLPA_IN_FORCE = np.datetime64("2022-06-21", "D")


def _listed(signals: Mapping[str, Any], lists: tuple[str, ...]) -> np.ndarray:
    """Lines with a party listed, on their date, on one of ``lists``."""
    hit: np.ndarray | None = None
    for role in ROLES:
        codes, uniques = factorize(signals[f"ev_{role}_entity_lists"])
        found = [any(x in lists for x in str(u).split(";")) for u in uniques]
        h = spread(found, codes, False, "bool")
        hit = h if hit is None else hit | h
    assert hit is not None
    return hit


def presumptions(signals: Mapping[str, Any], entry_dates: Any) -> np.ndarray:
    """Why each line is presumed (``"uflpa_entity;xinjiang"``), ``""`` when it is not.

    Args:
        signals: The line signals (:func:`models.features.signals.derive_signals`).
        entry_dates: Entry date per line: the Xinjiang presumption applies from the day the
            UFLPA took effect (the lists' dates are already in the signals).

    Returns:
        Object array of one text per line.
    """
    xj = np.zeros(len(signals["mfr_list_sim"]), dtype=bool)
    for name in XINJIANG_SIGNALS:
        # NaN > 0 is False, as NaN read as 0 would be (no nan_to_num: its cost per call is
        # most of a one-line request's presumption).
        xj |= np.asarray(signals[name], dtype=float) > 0
    xj &= np.asarray(entry_dates).astype("datetime64[D]") >= UFLPA_IN_FORCE
    bases = {
        "uflpa_entity": _listed(signals, ("UFLPA",)),
        "xinjiang": xj,
        "wro": _listed(signals, ("WRO", "FINDING")),
    }
    # Eight combinations at most: label each once, then pick per line.
    code = sum(bases[b].astype(np.int64) << k for k, b in enumerate(BASES))
    return _labels()[code]  # type: ignore[no-any-return]


@functools.cache
def _labels() -> np.ndarray:
    """The text of each combination of bases, by its bits (read only: shared by calls)."""
    labels = np.array(
        [";".join(b for k, b in enumerate(BASES) if c >> k & 1) for c in range(1 << len(BASES))],
        dtype=object,
    )
    labels.flags.writeable = False
    return labels


def presumed_first(presumption: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Ranking order: presumed lines before all others, by score (highest first) within.

    Ties keep the input order (a stable sort), so a ranking is reproducible.
    """
    presumed = np.asarray([bool(p) for p in presumption], dtype=bool)
    return np.lexsort((-np.asarray(score, dtype=float), ~presumed))


def join_presumptions(values: Iterable[str]) -> str:
    """The bases of several lines (an entry's) as one value, in :data:`BASES` order."""
    found = {b for v in values for b in str(v).split(";") if b}
    return ";".join(b for b in BASES if b in found)
