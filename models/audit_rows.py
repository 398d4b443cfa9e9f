"""The rows of the audit log, built in one place: one typed row, one builder per request.

Every writer of the audit log (the API's scoring, feedback, the workbench's actions, views
and per-line scores) builds its rows here, so every row has every column of the ``audit``
table (``None`` where a kind of row has nothing to say) and the same encoding of inputs and
reasons. :class:`AuditRow` is a ``TypedDict``: rows stay plain dicts, as
:meth:`models.store.AuditStore.record` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from models.audit_chain import BY_HASH
from models.json_text import canonical_many, compact
from models.store import canonical_json, now_iso
from models.store import input_hash as hash_of


class AuditRow(TypedDict):
    """One row of the ``audit`` table (all columns but the generated ``id``)."""

    request_id: str
    ts: str
    key_id: str
    entry_id: str | None
    line_no: int | None
    input_hash: str | None
    input_json: str | None
    model_version: str | None
    bundle_hash: str | None
    risk_score: float | None
    risk_band: str | None
    reasons_json: str | None
    latency_ms: float | None
    action: str
    chain_form: int | None


@dataclass(frozen=True)
class ModelStamp:
    """The model version that made a decision: its URI and its bundle's hash."""

    version: str
    bundle_hash: str


@dataclass(frozen=True)
class AuditRows:
    """Builds the audit rows of one request: who asked, when, under which request id.

    Attributes:
        request_id: The request (or job) id every row carries.
        key_id: The caller's key id (``-`` when the caller is unknown).
        ts: The rows' timestamp; one per request, taken when the builder is made.
    """

    request_id: str
    key_id: str
    ts: str = field(default_factory=now_iso)

    def _row(
        self,
        action: str,
        *,
        entry_id: str | None = None,
        line_no: int | None = None,
        input_hash: str | None = None,
        input_json: str | None = None,
        model: ModelStamp | None = None,
        risk_score: float | None = None,
        risk_band: str | None = None,
        reasons_json: str | None = None,
        latency_ms: float | None = None,
    ) -> AuditRow:
        return {
            "request_id": self.request_id,
            "ts": self.ts,
            "key_id": self.key_id,
            "entry_id": entry_id,
            "line_no": line_no,
            "input_hash": input_hash,
            "input_json": input_json,
            "model_version": model.version if model else None,
            "bundle_hash": model.bundle_hash if model else None,
            "risk_score": risk_score,
            "risk_band": risk_band,
            "reasons_json": reasons_json,
            "latency_ms": latency_ms,
            "action": action,
            "chain_form": None,
        }

    def scored(
        self,
        action: str,
        model: ModelStamp,
        inputs: Sequence[Mapping[str, Any]],
        results: Sequence[Mapping[str, Any]],
        latency_ms: float,
    ) -> list[AuditRow]:
        """One row per scored line: its input as received, the model and the decision.

        The row's chain hash covers its input by ``input_hash`` and its reasons by their
        SHA-256 (``chain_form`` is ``BY_HASH``: see :mod:`models.audit_chain`), so each text
        is hashed once.

        Args:
            action: ``score``, ``score_file`` or ``workbench_score``.
            model: The model that scored.
            inputs: Each line as received (its canonical JSON and hash are stored).
            results: Each line's result: ``entry_id``, ``line_no``, ``risk_score``,
                ``risk_band``, ``reasons`` and (optional) ``presumption``.
            latency_ms: Scoring time of the whole request.

        Raises:
            ValueError: Not one result per input.
        """
        # The inputs' canonical JSON made for the whole batch at once (the same text as one
        # by one), and each row written out here: a call per row and column cost more than
        # the hashing.
        texts = canonical_many(inputs)
        request_id, ts, key_id = self.request_id, self.ts, self.key_id
        version, bundle = model.version, model.bundle_hash
        return [
            {
                "request_id": request_id,
                "ts": ts,
                "key_id": key_id,
                "entry_id": res["entry_id"],
                "line_no": res["line_no"],
                "input_hash": hash_of(text),
                "input_json": text,
                "model_version": version,
                "bundle_hash": bundle,
                "risk_score": res["risk_score"],
                "risk_band": res["risk_band"],
                "reasons_json": _reasons_json(res["reasons"], res.get("presumption")),
                "latency_ms": latency_ms,
                "action": action,
                "chain_form": BY_HASH,
            }
            for text, res in zip(texts, results, strict=True)
        ]

    def viewed(
        self, action: str, model: ModelStamp, lines: Sequence[Mapping[str, Any]]
    ) -> list[AuditRow]:
        """One row per line shown to an officer with its score and reasons (no input).

        Args:
            action: ``workbench_view``.
            model: The model whose scores were shown.
            lines: Each line's ``entry_id``, ``line_no``, ``risk_score``, ``risk_band`` and
                ``reasons``.
        """
        return [
            self._row(
                action,
                entry_id=ln["entry_id"],
                line_no=ln["line_no"],
                model=model,
                risk_score=ln["risk_score"],
                risk_band=ln["risk_band"],
                reasons_json=_reasons_json(ln["reasons"], ln.get("presumption")),
            )
            for ln in lines
        ]

    def event(
        self, action: str, detail: Mapping[str, Any] | None = None, model: ModelStamp | None = None
    ) -> AuditRow:
        """A row for an action that is not about a single line (sign-in, upload, export).

        The detail goes in ``input_json`` (with no hash: it is not an input line);
        ``entry_id`` stays empty, so training never mistakes it for a scored line.
        """
        return self._row(action, input_json=canonical_json(detail or {}), model=model)

    def feedback(self, entry_id: str, line_no: int, record: Mapping[str, Any]) -> AuditRow:
        """The row that goes with a feedback record: the record as the row's input."""
        text = canonical_json(record)
        return self._row(
            "feedback", entry_id=entry_id, line_no=line_no, input_hash=hash_of(text),
            input_json=text,
        )  # fmt: skip


def _reasons_json(reasons: Any, presumption: str | None) -> str:
    # The presumption goes beside the reasons (only when there is one): the audit table's
    # columns, and so every row's hash, stay as they were. Stored as it is built, never
    # re-derived for a hash: orjson, keys sorted as before.
    if presumption:
        return compact({"presumption": presumption, "reasons": reasons}, sort_keys=True).decode()
    return compact({"reasons": reasons}, sort_keys=True).decode()
