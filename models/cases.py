"""Cases: lines detained on suspicion of forced labour, followed until their outcome.

A case is opened on lines of one or more entries (each tied to the scored decision it is
about, as feedback is) and may link tips. Its status goes ``detained`` ->
``admissibility_review`` -> ``released`` | ``excluded`` | ``re_exported``, each step with
its date, and it has an owner, notes and documents. Every change is one transaction with its
audit row; the case's trail lists them. Closing a case writes its outcome as each line's
inspection outcome through the same path as ``POST /v1/feedback``
(:func:`models.feedback.write_outcome`, in the case's transaction): ``excluded`` and
``re_exported`` are violations (1), ``released`` is not (0); the inspection reason is the
case's (``tip`` when it was opened on a tip, else ``targeted``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from models.audit_rows import AuditRows
from models.errors import UserError
from models.feedback import write_outcome
from models.store import AuditStore, CaseStore, FeedbackWrite, TipStore
from models.store.audit import Append

OPEN, REVIEW = "detained", "admissibility_review"
# What a closed case's outcome means for its lines (the contract's ``violation``).
CLOSING = {"released": 0, "excluded": 1, "re_exported": 1}
STATUSES = (OPEN, REVIEW, *CLOSING)
NEXT: dict[str, tuple[str, ...]] = {OPEN: (REVIEW,), REVIEW: tuple(CLOSING)}
REASONS = ("targeted", "random", "tip")
MAX_LINES = 500


class CaseError(UserError, ValueError):
    """A case change that is not allowed (the message says which field and why)."""

    hint = "A case goes detained -> admissibility_review -> released, excluded or re_exported."


class UnknownCaseError(UserError, LookupError):
    """No case (or no document of the case) has this id."""

    hint = "List the cases (GET /v1/cases) for their ids."


def _lines(conn: Any, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The lines with their decision ids: given (and checked) or the latest audited one."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for i, ln in enumerate(lines):
        entry_id, line_no = str(ln["entry_id"]), int(ln["line_no"])
        decision = ln.get("decision_id") or CaseStore.latest_decision(conn, entry_id, line_no)
        if not decision:
            raise CaseError(f"lines[{i}]: entry {entry_id} line {line_no} was never scored")
        if ln.get("decision_id") and not CaseStore.has_decision(conn, entry_id, line_no, decision):
            raise CaseError(
                f"lines[{i}].decision_id: no scored decision {decision} for entry {entry_id} "
                f"line {line_no}"
            )
        out[(entry_id, line_no)] = {"entry_id": entry_id, "line_no": line_no,
                                    "decision_id": decision}  # fmt: skip
    return list(out.values())


def _tips(conn: Any, store: AuditStore, tip_ids: Sequence[int]) -> list[int]:
    tips = TipStore(store)
    for t in tip_ids:
        if tips.get(int(t), conn) is None:
            raise CaseError(f"tip_ids: no tip {t}")
    return sorted({int(t) for t in tip_ids})


def _event(
    conn: Any, append: Append, rows: AuditRows, case_id: int, action: str, detail: dict[str, Any]
) -> None:
    """The case's trail step and its audit row, in the change's transaction."""
    (audit_id,) = append([rows.event(f"case_{action}", {"case_id": case_id, **detail})])
    CaseStore.add_event(conn, {
        "case_id": case_id, "ts": rows.ts, "actor": rows.key_id, "action": action,
        "detail_json": json.dumps(detail, ensure_ascii=False, sort_keys=True),
        "audit_id": audit_id,
    })  # fmt: skip


def open_case(
    store: AuditStore, case: Mapping[str, Any], *, key_id: str, request_id: str
) -> dict[str, Any]:
    """Open a case (status ``detained``) on lines, with linked tips, audited.

    Args:
        store: The store.
        case: ``lines`` (``entry_id, line_no``, optional ``decision_id``), ``tip_ids``,
            ``title``, ``owner`` (default: who opens it), ``inspection_reason``,
            ``date`` (the detention's date), ``note``.
        key_id: Who opens it.
        request_id: The request id of its audit row.

    Raises:
        CaseError: No lines, too many, a line never scored, an unknown tip or reason.
        AuditUnavailableError: Nothing was stored.
    """
    given = list(case.get("lines") or [])
    if not given or len(given) > MAX_LINES:
        raise CaseError(f"lines: a case holds 1 to {MAX_LINES} lines, not {len(given)}")
    reason = case.get("inspection_reason")
    if reason is not None and reason not in REASONS:
        raise CaseError(f"inspection_reason: {reason!r} is not one of {list(REASONS)}")
    cases = CaseStore(store)
    rows = AuditRows(request_id, key_id)
    with cases.write("case opening") as (conn, append):
        lines = _lines(conn, given)
        tip_ids = _tips(conn, store, case.get("tip_ids") or [])
        entries = sorted({ln["entry_id"] for ln in lines})
        record = {
            "title": str(case.get("title") or f"Entry {', '.join(entries)}")[:256],
            "status": OPEN, "owner": str(case.get("owner") or key_id),
            "inspection_reason": reason or ("tip" if tip_ids else "targeted"),
            "opened_at": rows.ts, "opened_by": key_id, "updated_at": rows.ts,
            "dates_json": json.dumps({OPEN: str(case.get("date") or rows.ts[:10])}),
        }  # fmt: skip
        case_id = cases.insert(conn, record)
        cases.add_lines(conn, case_id, lines)
        cases.add_tips(conn, case_id, tip_ids)
        detail = {"status": OPEN, "lines": lines, "tip_ids": tip_ids, "owner": record["owner"],
                  "date": json.loads(record["dates_json"])[OPEN],
                  "note": case.get("note") or None}  # fmt: skip
        _event(conn, append, rows, case_id, "open", detail)
    return get_case(store, case_id)


def update_case(
    store: AuditStore,
    case_id: int,
    change: Mapping[str, Any],
    *,
    key_id: str,
    request_id: str,
    source: str,
) -> dict[str, Any]:
    """Change a case: status (with its date), owner, a note, more tips or lines; audited.

    A status that closes the case writes its outcome as each line's inspection outcome in
    the same transaction (source ``workbench`` or ``api``, as for feedback).

    Raises:
        UnknownCaseError: No such case.
        CaseError: A step the flow does not allow, a change to a closed case, nothing to do.
        AuditUnavailableError: Nothing was stored.
    """
    cases = CaseStore(store)
    rows = AuditRows(request_id, key_id)
    with cases.write("case update") as (conn, append):
        case = cases.get(case_id, conn)
        if case is None:
            raise UnknownCaseError(f"no case {case_id}")
        if case["status"] in CLOSING:
            raise CaseError(f"case {case_id} is closed ({case['status']}): it cannot change")
        values: dict[str, Any] = {}
        done = False
        if change.get("owner") and change["owner"] != case["owner"]:
            values["owner"] = str(change["owner"])
            _event(
                conn, append, rows, case_id, "owner", {"from": case["owner"], "to": values["owner"]}
            )
            done = True
        if change.get("tip_ids"):
            new = [t for t in _tips(conn, store, change["tip_ids"]) if t not in case["tip_ids"]]
            cases.add_tips(conn, case_id, new)
            _event(conn, append, rows, case_id, "link_tips", {"tip_ids": new})
            done = True
        if change.get("lines"):
            have = {(ln["entry_id"], ln["line_no"]) for ln in case["lines"]}
            new_lines = [ln for ln in _lines(conn, change["lines"])
                         if (ln["entry_id"], ln["line_no"]) not in have]  # fmt: skip
            cases.add_lines(conn, case_id, new_lines)
            case["lines"] += new_lines
            _event(conn, append, rows, case_id, "link_lines", {"lines": new_lines})
            done = True
        status = change.get("status")
        if status and status != case["status"]:
            if status not in NEXT.get(case["status"], ()):
                raise CaseError(
                    f"status: case {case_id} is {case['status']}; next may be "
                    f"{' or '.join(NEXT[case['status']])}, not {status}"
                )
            dates = json.loads(case["dates_json"])
            dates[status] = str(change.get("date") or rows.ts[:10])
            values.update(status=status, dates_json=json.dumps(dates))
            detail = {"from": case["status"], "to": status, "date": dates[status],
                      "note": change.get("note") or None}  # fmt: skip
            if status in CLOSING:
                values["closed_at"] = rows.ts
                detail["labels"] = _label_lines(conn, append, rows, case, status, source)
            _event(conn, append, rows, case_id, "status", detail)
            done = True
        elif change.get("note"):
            _event(conn, append, rows, case_id, "note", {"note": str(change["note"])})
            done = True
        if not done:
            raise CaseError("nothing to change: give a status, owner, note, tips or lines")
        cases.set_fields(conn, case_id, {**values, "updated_at": rows.ts})
    return get_case(store, case_id)


def _label_lines(
    conn: Any, append: Append, rows: AuditRows, case: Mapping[str, Any], status: str, source: str
) -> list[dict[str, Any]]:
    """Each line's inspection outcome from the case's, through the feedback path."""
    out = []
    for ln in case["lines"]:
        item = {
            "entry_id": ln["entry_id"], "line_no": ln["line_no"], "decision_id": ln["decision_id"],
            "inspected": True, "inspection_reason": case["inspection_reason"],
            "violation": CLOSING[status], "outcome": status,
            "note": f"case {case['id']} closed: {status}",
        }  # fmt: skip
        tx = FeedbackWrite(conn, ln["entry_id"], ln["line_no"], append)
        written = write_outcome(tx, item, rows, source=source)
        out.append({"entry_id": ln["entry_id"], "line_no": ln["line_no"], **written})
    return out


def get_case(store: AuditStore, case_id: int) -> dict[str, Any]:
    """A case with its lines, tips, documents and trail (each step's audit row hash).

    Raises:
        UnknownCaseError: No such case.
    """
    case = CaseStore(store).get(case_id)
    if case is None:
        raise UnknownCaseError(f"no case {case_id}")
    case["dates"] = json.loads(case.pop("dates_json"))
    for step in case["trail"]:
        step["detail"] = json.loads(step.pop("detail_json"))
    return case


def cases_of_entry(
    store: AuditStore, entry_id: str, line_no: int | None = None
) -> list[dict[str, Any]]:
    """Cases holding lines of an entry (or of one line), newest first."""
    return CaseStore(store).of_lines(entry_id, line_no)


def add_document(
    store: AuditStore,
    case_id: int,
    name: str,
    content: bytes,
    media_type: str,
    *,
    key_id: str,
    request_id: str,
) -> dict[str, Any]:
    """Attach a checked document (see :mod:`models.documents`) to a case, audited.

    Raises:
        UnknownCaseError: No such case.
        AuditUnavailableError: Nothing was stored.
    """
    cases = CaseStore(store)
    rows = AuditRows(request_id, key_id)
    digest = hashlib.sha256(content).hexdigest()
    with cases.write("case document") as (conn, append):
        if cases.get(case_id, conn) is None:
            raise UnknownCaseError(f"no case {case_id}")
        doc = {
            "case_id": case_id, "name": name, "media_type": media_type, "sha256": digest,
            "size": len(content), "content": content, "uploaded_by": key_id, "ts": rows.ts,
        }  # fmt: skip
        doc_id = cases.add_document(conn, doc)
        meta = {k: v for k, v in doc.items() if k != "content"}
        _event(conn, append, rows, case_id, "document", {"document_id": doc_id, **meta})
        cases.set_fields(conn, case_id, {"updated_at": rows.ts})
    return {"id": doc_id, **meta}


def cases_of_entries(store: AuditStore, entry_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Cases holding lines of any of these entries (a party's, for its profile), newest first."""
    return CaseStore(store).of_entries(entry_ids) if entry_ids else []


def cases_of_tip(store: AuditStore, tip_id: int) -> list[dict[str, Any]]:
    """Cases a tip is linked to, newest first."""
    return CaseStore(store).of_tip(tip_id)
