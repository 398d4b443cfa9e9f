"""Party signals: who made and who shipped the goods, and whether a list names them.

Listed entities are matched on their names and aliases once per distinct name; party keys
(declared ID, else the normalised name) identify a party across lines for its history.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from models.contract.batch import Column, Lines
from models.contract.textcase import upper_texts
from models.features.cache import SignalCache
from models.features.distinct import (
    combine,
    factorize,
    isna,
    memo_map,
    spread,
    spread_text,
    texts_of,
)
from models.features.places import xinjiang_checks, xj_columns
from models.reference.entities import normalize_name

# Intermediaries: a trader or forwarder between the factory and the buyer is how goods change
# their declared origin (transshipment) and how a listed producer disappears from the manifest.
TRADER_TERMS = re.compile(
    r"\b(?:LOGISTICS?|FORWARD\w*|SHIPPING|SUPPLY CHAIN|TRADING|TRADE"
    r"|IMP(?:ORT)?\W*(?:&|AND)?\W*EXP(?:ORT)?|ENTERPRISES?|HOLDINGS?)\b"
)


def _name_key(name: str) -> str | None:
    norm = normalize_name(name) if name else ""
    return "N:" + norm if norm else None


def party_keys(
    ids: Column | None, names: Column, cache: SignalCache, name_keys: np.ndarray | None = None
) -> np.ndarray:
    """Object array of party keys: the declared ID when present, else ``N:`` + normalised name.

    ``name_keys``: ``party_keys(None, names, cache)`` when already made (it is not changed).
    """
    if name_keys is None:
        codes, uniques = factorize(names)
        by_name = memo_map(texts_of(uniques), cache.parties, _name_key)
        name_keys = spread(by_name[:-1], codes, by_name[-1])
    key = name_keys
    if ids is None:
        return key
    icodes, iuniq = factorize(ids)
    id_obj = spread(list(iuniq), icodes, np.nan)
    use_id = spread([str(u) != "" for u in iuniq], icodes, False, "bool")
    key = np.where(use_id, id_obj, key)
    key[key == "N:"] = None
    return key


def party_signals(
    f: Lines,
    countries: dict[str, np.ndarray],
    cache: SignalCache,
    out: dict[str, Any],
) -> None:
    """Manufacturer against shipper: names in Xinjiang, a trader between them, countries."""
    mcodes, muniq = factorize(f["manufacturer_name"])
    scodes, suniq = factorize(f["shipper_name"])
    pair, first = combine(mcodes, scodes)
    mtext, stext = texts_of(muniq), texts_of(suniq)
    joined = [mtext[mcodes[i]] + " | " + stext[scodes[i]] for i in first]
    xj = xj_columns([*xinjiang_checks(joined, cache), (False, "", "", False)], pair)
    out["names_xj"] = xj["hit"]
    mfr_norm = party_keys(None, f["manufacturer_name"], cache)
    shp_norm = party_keys(None, f["shipper_name"], cache)
    out["shipper_ne_mfr"] = (~isna(mfr_norm) & ~isna(shp_norm) & (mfr_norm != shp_norm)).astype(
        "float64"
    )
    # The party keys of the names, for derive_signals (the shipper's key is its name key).
    out["mfr_name_key"], out["shp_key"] = mfr_norm, shp_norm
    new = [t for t in stext if t not in cache.traders]
    for t, up in zip(new, upper_texts(new), strict=True):
        cache.traders[t] = TRADER_TERMS.search(up) is not None
    trader = [cache.traders[t] for t in stext]
    out["shipper_trader"] = spread(trader[:-1], scodes, trader[-1], "float64")
    m, s = countries["mfr"], countries["shp"]
    out["shipper_ctry_ne_mfr"] = ((m != "") & (s != "") & (m != s)).astype("float64")
    out["ev_names_xj_terms"] = xj["terms"]


# Text evidence of a party's listing (after the id): ``ev_<role>_entity_<name>``.
ENTITY_EVIDENCE = ("name", "alias", "list", "citation", "since", "lists", "later", "via")
_ADDRESS_WORDS = re.compile(r"[^0-9A-Z]+")
# How alike two names sharing an address must read to be linked (rapidfuzz token set ratio).
LINK_NAME_SIMILARITY = 85.0


def entity_signals(f: Lines, cache: SignalCache, out: dict[str, Any]) -> None:
    """Similarity of each party to a listing in force on the line's date, with the evidence.

    A name is matched once per distinct name; which of the firm's listings was in force is
    then decided per line from its entry date. A line entered before the firm was listed
    gets no similarity (the model never learns a listing before it happened) and the date
    of the later listing as evidence (``ev_*_entity_later``), for a note to the officer.
    """
    listings = cache.matcher.listings
    for role, col in (("mfr", "manufacturer_name"), ("shp", "shipper_name")):
        codes, uniques = factorize(f[col])
        texts = texts_of(uniques)
        new = [t for t in dict.fromkeys(texts) if t not in cache.entities]
        if new:
            cache.entities.update(zip(new, cache.matcher.match(new), strict=True))
        matches = [cache.entities[t] for t in texts]
        matched = np.array([not pd.isna(m.entity_id) for m in matches[:-1]] + [False])
        via = np.full(len(f), "", dtype=object)
        if role == "mfr" and matched.any():
            codes = codes.copy()
            _link_in_entry(f, codes, matched, via)
        ids = spread([m.entity_id for m in matches[:-1]], codes, pd.NA)
        if listings.affiliate:
            affiliated = listings.affiliation(ids)
            via = np.where(via == "", affiliated, via).astype(object)
        live = listings.in_force(ids, f["entry_date"], f["hts_code"])
        later_codes, later_days = factorize(live.later.astype("datetime64[D]").astype(object))
        list_codes, list_sets = factorize(live.lists)
        combo, first = combine(codes, live.row, later_codes, list_codes)
        per: list[tuple[Any, ...]] = []
        for i in first:
            m, row = matches[codes[i]], int(live.row[i])
            later = "" if later_codes[i] < 0 else str(later_days[later_codes[i]])
            if row < 0:
                # Not listed on the line's date: as an unmatched name (0), missing stays NaN.
                sim = np.nan if codes[i] < 0 else 0.0
                per.append((sim, pd.NA, "", "", "", "", "", "", later))
            else:
                in_force = str(list_sets[list_codes[i]])
                per.append((m.similarity, *listings.listing(row, m.matched_alias), in_force, ""))
        cols = list(zip(*per, strict=True)) if per else [()] * (len(ENTITY_EVIDENCE) + 1)
        out[f"{role}_list_sim"] = spread(cols[0], combo, np.nan, "float64")
        out[f"ev_{role}_entity_id"] = spread_text(cols[1], combo, pd.NA, "string")
        for k, name in enumerate(ENTITY_EVIDENCE[:-1], start=2):
            out[f"ev_{role}_entity_{name}"] = spread_text(cols[k], combo, "", "str")
        # Only where a listing is in force: a link to a firm listed later is no evidence yet.
        linked = (via != "") & (live.row >= 0)
        out[f"ev_{role}_entity_via"] = np.where(linked, via, "").astype(object)


def _link_in_entry(f: Lines, codes: np.ndarray, matched: np.ndarray, via: np.ndarray) -> None:
    """Resolve unmatched manufacturer names through another line of the same entry.

    An officer reads "DALIAN SHENGCHI TRADE" as the listed "Dalian Shengchi International
    Trade" when another line of the same entry names the listed spelling with the same
    manufacturer ID (MID) or the same address. Such a line takes the other line's name code
    (so its match, listing and evidence) and ``via`` says what linked them. Entries are the
    unit: a line's features never depend on lines outside its entry.

    Args:
        f: The lines.
        codes: Distinct-name code per line (changed in place for linked lines).
        matched: Per distinct name (and a last False for missing), whether it matched.
        via: Per line, ``"manufacturer_id <MID>"`` or ``"address"`` once linked.
    """
    hit = matched[codes]
    entry_codes, _ = factorize(f["entry_id"])
    with_match = np.zeros(entry_codes.max() + 1 if len(entry_codes) else 0, dtype=bool)
    with_match[entry_codes[hit]] = True
    todo = np.flatnonzero(~hit & with_match[entry_codes])
    if not len(todo):
        return
    source = np.flatnonzero(hit & with_match[entry_codes])
    names = f["manufacturer_name"]
    keys: dict[tuple[int, str, str], int] = {}
    for k in source.tolist():
        for kind, value in _link_keys(f, k):
            keys.setdefault((int(entry_codes[k]), kind, value), k)
    for i in todo.tolist():
        for kind, value in _link_keys(f, i):
            j = keys.get((int(entry_codes[i]), kind, value))
            # A MID names one manufacturer; a shared address (a trade centre, an agent)
            # links only names that read alike ("... SHENGCHI TRADE" in "... SHENGCHI
            # INTERNATIONAL TRADE").
            if j is not None and (kind == "mid" or _alike(names[i], names[j])):
                codes[i] = codes[j]
                via[i] = f"manufacturer_id {value}" if kind == "mid" else "address"
                break


def _link_keys(f: Lines, i: int) -> list[tuple[str, str]]:
    """A line's manufacturer ID and normalised address, where declared."""
    out = []
    mid = f["manufacturer_id"][i] if "manufacturer_id" in f else None
    if isinstance(mid, str) and mid.strip():
        out.append(("mid", mid.strip().upper()))
    addr = f["manufacturer_address"][i] if "manufacturer_address" in f else None
    if isinstance(addr, str):
        words = _ADDRESS_WORDS.sub(" ", addr.upper()).strip()
        if len(words) >= 12:  # a street address, not "CHINA"
            out.append(("address", words))
    return out


def _alike(a: Any, b: Any) -> bool:
    """Whether two declared names read as one firm's: one's words are nearly the other's."""
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return fuzz.token_set_ratio(normalize_name(a), normalize_name(b)) >= LINK_NAME_SIMILARITY
