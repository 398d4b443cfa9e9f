"""The audit log's hash chain: each row's SHA-256 covers its fields and the row before it.

Pure functions, no SQL (:mod:`models.store` reads and writes the rows under one lock). A
row's hash is the SHA-256 of the previous row's hash, the row's id and the canonical JSON of
its other fields (sorted keys, no spaces, UTF-8, NULLs left out), each line apart: the fields
are every column of the ``audit`` table but the two hash columns, each value normalised to its
column's type (what the database gives back). The JSON is made before the store takes its
lock; only the ids and the hashes are made under it. The first chained row follows
``GENESIS``. The store keeps the chain's head (where it starts, its last row and hash) beside
the rows, so rows removed from the end are found too. Rows older than the chain (written
before the store had it) are counted, not covered.

A row whose ``chain_form`` is ``BY_HASH`` (1: a scored line's, since 2026-12-04) has its two
long texts in its hashed text by their SHA-256: its ``input_json`` by its ``input_hash`` (the
SHA-256 of that text, stored as the line's decision id), which :func:`verify` checks the
stored input against; its ``reasons_json`` by the SHA-256 of that text, as
``reasons_sha256`` (computed, not stored). Each input is then hashed once, not twice, and
neither text is escaped into JSON again. Rows without the column's value (every row written
before it, and the other kinds of rows) cover their texts themselves, as they always did; the
form is in the hashed text, so it cannot be switched without breaking the row's hash.

What it finds: a row changed in place, a row removed, a hash removed, a row written past the
store, the chain's start moved. What it cannot: someone who rewrites every hash after a
change, the head included (anyone with write access and this file can); compare the head
hash ``flrisk audit verify`` prints with one noted outside the database for that.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import isnan
from operator import itemgetter
from types import NoneType
from typing import Any, cast

from models import json_text

GENESIS = "0" * 64  # what the first chained row follows
# The column saying how a row's hash covers its long texts, and its value for "by their
# hashes"; NULL (and absent): the texts themselves.
FORM = "chain_form"
BY_HASH = 1
INPUT, INPUT_HASH = "input_json", "input_hash"
# A row by hash has its reasons' text in its hashed text by the SHA-256 of that text, under
# this name (no column has it).
REASONS, REASONS_HASH = "reasons_json", "reasons_sha256"
Kinds = Mapping[str, type]  # the fields a row's hash covers besides its id: int, float or str


@dataclass(frozen=True)
class ChainHead:
    """Where the chain starts and ends, as the store recorded with its last write.

    Attributes:
        chain_start: Id of the first row the chain covers (older rows predate it).
        last_id: Id of the last chained row (``chain_start - 1`` while there is none).
        last_hash: Hash of that row (``GENESIS`` while there is none).
    """

    chain_start: int
    last_id: int
    last_hash: str


def normalise(row: Mapping[Any, Any], kinds: Kinds) -> dict[str, Any]:
    """The row's hashed fields as their columns store them; a NaN float is stored as NULL.

    Raises:
        KeyError: A field is missing. ValueError, TypeError: a value is not of its type.
    """
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        value = row[name]
        if value is not None:
            if type(value) is not kind:
                value = kind(value)
            if kind is float and math.isnan(value):
                value = None
        out[name] = value
    return out


def canonical(fields: Mapping[str, Any]) -> str:
    """The fields' canonical JSON: sorted keys, no spaces, UTF-8, NULLs left out.

    Leaving NULLs out keeps the hashes of older rows valid when a nullable column is added.
    A row of the ``BY_HASH`` form has its input and reasons by hash (see :func:`covered`).
    """
    return json_text.canonical(covered(fields))


def covered(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """The normalised fields a row's text covers: no NULLs, long texts by hash in form 1.

    The fields themselves when nothing is left out (they are only read).
    """
    by_hash = fields.get(FORM) == BY_HASH
    if None in fields.values():
        fields = {k: v for k, v in fields.items() if v is not None}
    return _texts_by_hash(fields) if by_hash else fields


def _texts_by_hash(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A row by hash's fields as its text covers them (a copy).

    No ``input_json`` (its ``input_hash`` stands in for it), and its reasons' text by that
    text's SHA-256.
    """
    out = dict(fields)
    out.pop(INPUT, None)
    reasons = out.pop(REASONS, None)
    if reasons is not None:
        out[REASONS_HASH] = hashlib.sha256(str(reasons).encode()).hexdigest()
    return out


def input_matches(row: Mapping[Any, Any]) -> bool:
    """Whether a row's stored input text hashes to its stored ``input_hash``.

    The SHA-256 of the text's UTF-8 (``models.store.input_hash``, a line's decision id).
    """
    text, digest = row.get(INPUT), row.get(INPUT_HASH)
    if not isinstance(text, str) or not isinstance(digest, str):
        return False
    return hashlib.sha256(text.encode()).hexdigest() == digest


def link(row_id: int, text: str | bytes, prev_hash: str) -> str:
    """The hash of row ``row_id``, whose fields' canonical JSON is ``text``, after ``prev_hash``.

    ``text`` as a ``str``, or as its UTF-8 bytes (the same hash).
    """
    if isinstance(text, str):
        return hashlib.sha256(f"{prev_hash}\n{row_id}\n{text}".encode()).hexdigest()
    return hashlib.sha256(b"%s\n%d\n%s" % (prev_hash.encode(), row_id, text)).hexdigest()


def row_hash(row: Mapping[Any, Any], kinds: Kinds, prev_hash: str) -> str:
    """The hash of ``row`` (its ``id`` and the fields of ``kinds``) after ``prev_hash``.

    Raises:
        KeyError, ValueError, TypeError: as :func:`normalise`.
    """
    return link(int(row["id"]), canonical(normalise(row, kinds)), prev_hash)


def prepare(
    rows: Iterable[Mapping[str, Any]], kinds: Kinds
) -> list[tuple[dict[str, Any], str | bytes]]:
    """Each row's normalised fields and their canonical JSON: the work done before the lock.

    The same as :func:`normalise` and :func:`canonical` row by row, with the checks made a
    column at a time: the rows of a scored request (a thousand lines) are dicts of the
    columns' own types already, and are taken as they are. The JSON is UTF-8 bytes where
    orjson wrote it (it is only hashed).

    Raises:
        KeyError, ValueError, TypeError: as :func:`normalise`.
    """
    batch = list(rows)
    normal = _normal(batch, kinds)
    fields = (
        cast(list[dict[str, Any]], batch)
        if normal is not None
        else [normalise(r, kinds) for r in batch]
    )
    # NULLs and texts covered by their hash are left out of the text (see covered); rows
    # with no NULL (checked a column at a time) need only the latter, if anything.
    records = _by_hash(fields, kinds) if normal is False else list(map(covered, fields))
    return list(zip(fields, json_text.canonical_many_utf8(records), strict=True))


def _by_hash(fields: list[dict[str, Any]], kinds: Kinds) -> list[dict[str, Any]]:
    """:func:`covered` of rows with no NULL: only the rows by hash change."""
    if FORM not in kinds:
        return fields
    forms = list(map(itemgetter(FORM), fields))
    if BY_HASH not in forms:
        return fields
    pairs = zip(fields, forms, strict=True)
    return [_texts_by_hash(f) if form == BY_HASH else f for f, form in pairs]


def _normal(rows: list[Mapping[str, Any]], kinds: Kinds) -> bool | None:
    """Whether some field is NULL; None unless each row is a dict of the fields of ``kinds``.

    Each field of its column's type, a float not NaN; a few rows are left to
    :func:`normalise` (None).
    """
    if len(rows) < json_text.BATCH_MIN:
        return None
    if not set(map(type, rows)) <= {dict} or set(map(len, rows)) != {len(kinds)}:
        return None
    nulls = False
    for name, kind in kinds.items():
        try:
            column = list(map(itemgetter(name), rows))
        except KeyError:
            return None
        types = set(map(type, column))
        if not types <= {kind, NoneType}:
            return None
        nulls = nulls or NoneType in types
        if kind is float and any(map(isnan, filter(_is_not_none, column))):
            return None
    return nulls


def _is_not_none(value: Any) -> bool:
    return value is not None


def extend(
    prepared: Sequence[tuple[dict[str, Any], str | bytes]], last_id: int, last_hash: str
) -> list[dict[str, Any]]:
    """Prepared rows numbered after ``last_id`` and chained after ``last_hash``.

    Returns:
        The rows to insert: each with its fields, ``id``, ``prev_hash`` and ``row_hash``.
    """
    out = []
    prev = last_hash
    for row_id, (fields, text) in enumerate(prepared, start=last_id + 1):
        digest = link(row_id, text, prev)
        out.append({**fields, "id": row_id, "prev_hash": prev, "row_hash": digest})
        prev = digest
    return out


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found.

    Attributes:
        chained: Rows checked by the chain (up to the first break).
        legacy: Rows older than the chain (or every row, where there is no chain yet).
        head: The recorded head; None where the store has no chain yet.
        broken_at: Id of the first row where the chain breaks; None when intact.
        problem: What differs there.
        noted_at: The row whose hash is the head hash noted earlier (``verify(noted=...)``).
    """

    chained: int
    legacy: int
    head: ChainHead | None
    broken_at: int | None = None
    problem: str | None = None
    noted_at: int | None = None

    @property
    def ok(self) -> bool:
        """True when no link is broken."""
        return self.broken_at is None

    @property
    def chain_start(self) -> int | None:
        """Id of the first row the chain covers."""
        return self.head.chain_start if self.head else None

    @property
    def head_hash(self) -> str | None:
        """The last chained row's hash, as recorded in the head."""
        return self.head.last_hash if self.head else None

    def report(self) -> list[str]:
        """What a person reads: the first broken link, or the count and the head hash."""
        head = self.head
        if not self.ok:
            return [f"audit chain BROKEN at row {self.broken_at}: {self.problem}"]
        if head is None:
            return [
                f"no hash chain in this audit store yet: {self.legacy} rows, all written "
                "before the chain existed (the server adds it at its next start)"
            ]
        lines = [
            f"audit chain intact: {self.chained} rows"
            + (f" (rows {head.chain_start}-{head.last_id})" if self.chained else "")
            + f", head hash {head.last_hash}"
        ]
        if self.noted_at is not None:
            lines.append(f"the noted head hash is row {self.noted_at}'s: the chain runs through it")
        if self.legacy:
            lines.append(
                f"rows 1-{head.chain_start - 1} ({self.legacy} rows) were written before the "
                f"chain started at row {head.chain_start} and are not covered by it"
            )
        return lines


def verify(
    rows: Iterable[Mapping[Any, Any]],
    head: ChainHead | None,
    kinds: Kinds,
    noted: str | None = None,
) -> Verdict:
    """Walk the rows in id order and return the first broken link, if any.

    Args:
        rows: Every audit row, oldest first, with its hashed fields, ``prev_hash`` and
            ``row_hash`` (None, or absent, in a store without the chain).
        head: The chain's head as recorded; None where the store has no chain yet.
        kinds: The hashed fields besides ``id``, and their types.
        noted: A head hash noted earlier, outside the database: the chain must pass
            through it (a chain re-hashed whole after a change no longer does).
    """
    legacy = chained = 0
    if head is None:
        for row in rows:
            if row.get("row_hash") is not None:
                why = "the row carries a hash, but the chain's head is missing (removed)"
                return Verdict(0, legacy, None, int(row["id"]), why)
            legacy += 1
        return Verdict(0, legacy, None)
    prev_id, prev_hash = head.chain_start - 1, GENESIS
    noted_at = None
    for row in rows:
        if row["id"] < head.chain_start and row.get("row_hash") is None:
            legacy += 1
            continue
        found = _broken_link(row, prev_id, prev_hash, head, kinds)
        if found:
            return Verdict(chained, legacy, head, *found)
        prev_id, prev_hash = int(row["id"]), str(row["row_hash"])
        chained += 1
        if prev_hash == noted:
            noted_at = prev_id
    found = _broken_end(prev_id, prev_hash, head)
    if found is None and noted is not None and noted_at is None:
        why = f"no row has the noted head hash {_short(noted)}: the chain up to it was rewritten"
        found = head.chain_start, f"{why} (or the hash was noted wrongly)"
    if found:
        return Verdict(chained, legacy, head, *found)
    return Verdict(chained, legacy, head, noted_at=noted_at)


def _broken_link(
    row: Mapping[Any, Any], prev_id: int, prev_hash: str, head: ChainHead, kinds: Kinds
) -> tuple[int, str] | None:
    """Where and why ``row`` does not follow the chained row ``prev_id``; None if it does."""
    row_id, stored = int(row["id"]), row.get("row_hash")  # absent: the columns were dropped
    if row_id < head.chain_start:
        return (
            row_id,
            f"the row has a hash, but the head says the chain starts at {head.chain_start}",
        )
    if row_id != prev_id + 1:
        gone = _rows(prev_id + 1, row_id - 1)
        return prev_id + 1, f"{gone} missing (deleted): row {row_id} follows row {prev_id}"
    if stored is None:
        return row_id, "the row has no hash (removed, or the row was written past the store)"
    if row["prev_hash"] != prev_hash:
        before = f"row {prev_id}'s hash" if prev_id >= head.chain_start else "the chain's start"
        return row_id, (
            f"the link from row {prev_id} is broken: the row follows {_short(row['prev_hash'])}, "
            f"not {before} {_short(prev_hash)} (row {prev_id} was changed and re-hashed)"
        )
    fields = _fields(row, kinds)
    digest = None if fields is None else link(row_id, canonical(fields), prev_hash)
    if digest != stored:
        return row_id, (
            f"the row was changed after it was written: its fields hash to {_short(digest)}, "
            f"not to its stored hash {_short(stored)}"
        )
    if fields is not None and fields.get(FORM) == BY_HASH and not input_matches(fields):
        return row_id, (
            "the row's input was changed after it was written: it does not hash to the "
            f"row's input_hash {_short(row.get(INPUT_HASH))}"
        )
    return None


def _broken_end(prev_id: int, prev_hash: str, head: ChainHead) -> tuple[int, str] | None:
    """Where and why the chain does not end where its head says; None if it does."""
    last = head.last_id
    if prev_id < last:
        return prev_id + 1, f"{_rows(prev_id + 1, last)} missing (deleted): the head ends at {last}"
    if prev_id > last:
        return last + 1, f"{_rows(last + 1, prev_id)} after the head's last row (past the store)"
    if prev_hash != head.last_hash:
        return prev_id, f"the row's hash is not the head's {_short(head.last_hash)} (replaced)"
    return None


def _fields(row: Mapping[Any, Any], kinds: Kinds) -> dict[str, Any] | None:
    """The row's hashed fields as stored; None when a value is not of its column's type."""
    try:
        return normalise(row, kinds)
    except (ValueError, TypeError):
        return None


def _rows(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first}-{last} are"


def _short(digest: str | None) -> str:
    return f"{digest[:16]}…" if digest else "(none)"
