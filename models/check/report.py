"""The self-check of a supplier list: findings per supplier, a summary per tier, the problems.

:func:`run_check` is what the command (``flrisk check``), the API (``POST /v1/check``) and the
page (``/check``) all call, so the three give the same answer. It takes the supplier list
and the day; nothing else (no store, no model), which is what keeps it to public evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from models.check.chain import build_chain, cycles, derived_tiers, downstream_paths
from models.check.evidence import Finding, ilab_findings, listed_findings, xinjiang_findings
from models.check.guidance import GUIDANCE
from models.check.suppliers import SupplierList, split_ids
from models.reference.tables import reference_versions

CODES = ("entity_list", "wro", "xinjiang", "ilab_goods", "upstream")
DIRECT = CODES[:-1]
OUTPUT_COLUMNS = ("supplier_id", "name", "findings")
TIER_COLUMNS = ("tier", "suppliers", "with_findings", *CODES)
UNKNOWN_TIER = "unknown"


@dataclass
class CheckReport:
    """The answer of a self-check.

    Attributes:
        as_of: The day the public lists were judged on (ISO date).
        results: Per good supplier, in input order: ``supplier_id, name, tier, row`` and
            ``findings`` (a list of ``code, text, evidence, guidance``).
        tiers: Per tier (declared, else derived from ``supplies_to``, else ``unknown``):
            suppliers, how many have a finding, and how many have each code.
        cycles: The loops of ``supplies_to``, each a sorted list of supplier ids.
        bad_rows: The rows left out: ``row, column, value, reason``.
        reference: The version of each reference table used.
    """

    as_of: str
    results: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    cycles: list[list[str]]
    bad_rows: pd.DataFrame
    reference: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The report file's rows: ``supplier_id, name, findings`` (findings as JSON)."""
        return pd.DataFrame(
            {
                "supplier_id": [r["supplier_id"] for r in self.results],
                "name": [r["name"] for r in self.results],
                "findings": [json.dumps(r["findings"], ensure_ascii=False) for r in self.results],
            },
            columns=list(OUTPUT_COLUMNS),
        )

    def tier_frame(self) -> pd.DataFrame:
        """The summary per tier as a frame (``TIER_COLUMNS``)."""
        return pd.DataFrame(self.tiers, columns=list(TIER_COLUMNS))

    def payload(self) -> dict[str, Any]:
        """The whole report as JSON-ready values (the API's answer)."""
        return {
            "as_of": self.as_of,
            "reference": self.reference,
            "suppliers": self.results,
            "tiers": self.tiers,
            "cycles": self.cycles,
            "bad_rows": self.bad_rows.to_dict("records"),
        }


def _as_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "text": finding.text,
        "evidence": finding.evidence,
        "guidance": GUIDANCE[finding.code],
    }


def _direct(frame: pd.DataFrame, today: date) -> list[list[Finding]]:
    """Each supplier's own findings, computed once per distinct value."""
    names = list(dict.fromkeys(frame["name"].tolist()))
    by_name = listed_findings(names, today)
    places = list(dict.fromkeys(zip(frame["address"], frame["country"], strict=True)))
    by_place = dict(zip(places, xinjiang_findings([a for a, _ in places], [c for _, c in places]),
                        strict=True))  # fmt: skip
    goods = list(dict.fromkeys(zip(frame["hts_code"], frame["goods"], frame["country"],
                                   strict=True)))  # fmt: skip
    by_goods = dict(zip(goods, ilab_findings(goods), strict=True))
    out: list[list[Finding]] = []
    for name, address, country, hts, text in zip(
        frame["name"], frame["address"], frame["country"], frame["hts_code"], frame["goods"],
        strict=True,
    ):  # fmt: skip
        found = by_name[name] + by_place[(address, country)] + by_goods[(hts, text, country)]
        out.append(sorted(found, key=lambda f: DIRECT.index(f.code)))
    return out


def run_check(suppliers: SupplierList, today: date | None = None) -> CheckReport:
    """Check every supplier of the list against the public lists in force on ``today``.

    Args:
        suppliers: The checked supplier list (:mod:`models.check.suppliers`).
        today: The day the lists are judged on (default: today).

    Returns:
        The report: findings per supplier (their own, then ``upstream`` ones with the path),
        the summary per tier, the loops of ``supplies_to`` and the rows left out.
    """
    today = today or date.today()
    frame = suppliers.frame
    ids = frame["supplier_id"].tolist()
    chain = build_chain(ids, [split_ids(v) for v in frame["supplies_to"].tolist()])
    direct = _direct(frame, today)
    derived = derived_tiers(chain)
    tiers = [
        declared or str(derived.get(sid, UNKNOWN_TIER))
        for sid, declared in zip(ids, frame["tier"].tolist(), strict=True)
    ]
    position = {sid: i for i, sid in enumerate(ids)}
    upstream: list[list[tuple[int, str, dict[str, Any]]]] = [[] for _ in ids]
    for i, found in enumerate(direct):
        if not found:
            continue
        codes = list(dict.fromkeys(f.code for f in found))
        for customer, path in downstream_paths(chain, ids[i]).items():
            upstream[position[customer]].append((len(path), ids[i], {"codes": codes, "path": path}))
    names = frame["name"].tolist()
    results: list[dict[str, Any]] = []
    for i, (sid, name, row) in enumerate(zip(ids, names, frame["row"].tolist(), strict=True)):
        findings = [_as_dict(f) for f in direct[i]]
        for _, _source, info in sorted(upstream[i], key=lambda u: (u[0], u[1])):
            findings.append(_as_dict(_upstream(info, names, position, tiers)))
        results.append({"supplier_id": sid, "name": name, "tier": tiers[i], "row": int(row),
                        "findings": findings})  # fmt: skip
    return CheckReport(
        as_of=today.isoformat(),
        results=results,
        tiers=_summary(results),
        cycles=cycles(chain),
        bad_rows=suppliers.bad,
        reference=dict(reference_versions()),
    )


def _upstream(
    info: dict[str, Any], names: list[str], position: dict[str, int], tiers: list[str]
) -> Finding:
    path: list[str] = info["path"]
    source = position[path[0]]
    name = names[source]
    shown = " -> ".join(f"{sid} ({names[position[sid]]})" for sid in path)
    text = (
        f"{name} ({path[0]}, tier {tiers[source]}), further up this chain, has findings: "
        f"{', '.join(info['codes'])}. Path: {shown}."
    )
    evidence = {"supplier_id": path[0], "name": name, "tier": tiers[source],
                "codes": info["codes"], "path": path}  # fmt: skip
    return Finding("upstream", text, evidence)


def _tier_key(tier: str) -> tuple[int, str]:
    return (int(tier), "") if tier.isdigit() else (10**6, tier)


def _summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_tier: dict[str, dict[str, Any]] = {}
    for result in results:
        tier = result["tier"]
        row = by_tier.setdefault(
            tier, {"tier": tier, "suppliers": 0, "with_findings": 0, **dict.fromkeys(CODES, 0)}
        )
        row["suppliers"] += 1
        codes = {f["code"] for f in result["findings"]}
        row["with_findings"] += bool(codes)
        for code in codes:
            row[code] += 1
    return [by_tier[t] for t in sorted(by_tier, key=_tier_key)]
