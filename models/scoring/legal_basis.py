"""The reasons that are law, not statistics: a presumption's legal basis and "listed later".

A presumed line's first reasons say why the law presumes it (one per basis, in the order of
:data:`models.scoring.presumption.BASES`), each with its citation and the date it took
effect; they replace the model's reason for the same evidence (the entity-list match, the
Xinjiang place), whose contribution they carry. A line entered before its party was listed
gets a note instead, never a presumption.

Each maker reads the line's evidence (:class:`~models.scoring.sentences.Row`) and returns the
sentence and its evidence, or None when the line lacks the evidence (which the presumption
rules make impossible for a presumed line: a test keeps them in step).
"""

from __future__ import annotations

from models.scoring.presumption import UFLPA_IN_FORCE
from models.scoring.sentences import Row, Said, _num, _s, linked

# The groups whose evidence a basis rests on: their model reasons are folded into it.
GROUPS_OF_BASIS = {
    "uflpa_entity": ("listed_entity",),
    "wro": ("listed_entity",),
    "xinjiang": ("xinjiang_address", "goods_description"),
}
UFLPA_ACT = "UFLPA, Pub. L. 117-78, section 3"
_ROLES = (("manufacturer", "ev_mfr_"), ("shipper", "ev_shp_"))
_ROLE_SIM = {"manufacturer": "mfr_list_sim", "shipper": "shp_list_sim"}
# What ``listed_later`` reads: a line with neither has no note.
LATER_READS = tuple(pre + "entity_later" for _, pre in _ROLES)


def _listed_party(line: Row, lists: tuple[str, ...]) -> tuple[str, str] | None:
    """The first party (manufacturer, then shipper) listed on one of ``lists`` that day."""
    for role, pre in _ROLES:
        if set(_s(line.get(pre + "entity_lists")).split(";")) & set(lists):
            return role, pre
    return None


def _entity_basis(line: Row, basis: str) -> Said | None:
    lists = ("UFLPA",) if basis == "uflpa_entity" else ("WRO", "FINDING")
    party = _listed_party(line, lists)
    if party is None:
        return None
    role, pre = party
    ev = {
        "basis": basis,
        "role": role,
        "entity_id": _s(line.get(pre + "entity_id")),
        "entity": _s(line.get(pre + "entity_name")),
        "matched_alias": _s(line.get(pre + "entity_alias")),
        "similarity": round(_num(line.get(_ROLE_SIM[role])), 1),
        "list": _s(line.get(pre + "entity_list")),
        "lists_in_force": _s(line.get(pre + "entity_lists")),
        "citation": _s(line.get(pre + "entity_citation")),
        "since": _s(line.get(pre + "entity_since")),
    }
    via = _s(line.get(pre + "entity_via"))
    where = f"{role.capitalize()} matches"
    if via:
        # Resolved through another line of the entry, not by this line's own spelling.
        ev["linked_by"] = via
        where = linked(role, via, str(ev["matched_alias"] or ev["entity"]))
    listed = f"(similarity {ev['similarity']:.0f}), listed {ev['since']}, {ev['citation']}"
    if basis == "uflpa_entity":
        text = (
            f"{where} UFLPA Entity List entry '{ev['entity']}' {listed}: the goods are "
            f"presumed made with forced labour ({UFLPA_ACT})."
        )
    elif ev["list"] in lists:
        kind = "a Finding" if ev["list"] == "FINDING" else "a Withhold Release Order"
        text = (
            f"{where} '{ev['entity']}', under {kind} {listed}, whose goods scope covers "
            "this line: the goods are detained."
        )
    else:
        # The listing shown is the firm's UFLPA one; its WRO/Finding is in force as well.
        text = (
            f"{where} '{ev['entity']}', also under a Withhold Release Order or Finding in "
            "force on the entry date whose goods scope covers this line: the goods are detained."
        )
    return text, ev


def _xinjiang_basis(line: Row) -> Said | None:
    found = {
        where: _s(line.get(col))
        for where, col in (
            ("manufacturer", "ev_mfr_xj_terms"),
            ("shipper", "ev_shp_xj_terms"),
            ("party names", "ev_names_xj_terms"),
        )
        if _s(line.get(col))
    }
    if _num(line.get("desc_xj")) > 0:
        # The description's terms mix places and tell-tale words: the places are in them.
        found["goods description"] = _s(line.get("ev_desc_terms"))
    if not found:
        return None
    terms = sorted({t for v in found.values() for t in v.split("|") if t})
    place = _s(line.get("ev_mfr_xj_place")) or _s(line.get("ev_shp_xj_place"))
    at = f" ({place})" if place else ""
    text = (
        f"The {' and '.join(found)} point{'s' if len(found) == 1 else ''} to production in "
        f"Xinjiang{at}: {', '.join(terms)}. Goods made wholly or in part in Xinjiang are "
        f"presumed made with forced labour ({UFLPA_ACT}, in force since {UFLPA_IN_FORCE})."
    )
    return text, {"basis": "xinjiang", "terms": terms, "place": place, "where": list(found)}


def basis_reason(basis: str, line: Row) -> Said | None:
    """The sentence and evidence of one presumption basis of a presumed line."""
    if basis == "xinjiang":
        return _xinjiang_basis(line)
    return _entity_basis(line, basis)


def listed_later(line: Row) -> Said | None:
    """A note for a line entered before its party's first listing, or None."""
    for (role, _), col in zip(_ROLES, LATER_READS, strict=True):
        later = _s(line.get(col))
        if later:
            text = (
                f"The {role} name matches a firm listed later, on {later}: no presumption "
                "on this line's entry date."
            )
            return text, {"role": role, "listed_on": later}
    return None
