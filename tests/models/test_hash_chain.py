"""The hash chain without a database: what is hashed, how, and what verify names.

The database cases (SQL sent straight to SQLite and PostgreSQL) are in
tests/reliability/test_audit_chain.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from models.audit_chain import (
    GENESIS,
    ChainHead,
    extend,
    link,
    normalise,
    prepare,
    row_hash,
    verify,
)

KINDS = {"request_id": str, "line_no": int, "risk_score": float}


def _chain(n: int, start: int = 1) -> tuple[list[dict[str, Any]], ChainHead]:
    rows = [{"request_id": f"r{i}", "line_no": i, "risk_score": i / 3} for i in range(n)]
    chained = extend(prepare(rows, KINDS), start - 1, GENESIS)
    last = chained[-1] if chained else {"id": start - 1, "row_hash": GENESIS}
    return chained, ChainHead(start, last["id"], last["row_hash"])


def test_a_link_is_sha256_of_the_previous_hash_the_id_and_canonical_fields() -> None:
    row = {"risk_score": 0.5, "id": 7, "request_id": "Ü", "line_no": None}
    text = '{"request_id":"Ü","risk_score":0.5}'  # sorted, compact, UTF-8, no NULLs
    want = hashlib.sha256(f"{GENESIS}\n7\n{text}".encode()).hexdigest()
    assert row_hash(row, KINDS, GENESIS) == link(7, text, GENESIS) == want
    assert link(7, text, "1" * 64) != want and link(8, text, GENESIS) != want
    ((fields, made),) = prepare([row], KINDS)
    assert made == text and "id" not in fields


def test_a_column_added_later_leaves_older_hashes_valid() -> None:
    rows, head = _chain(3)
    wider = {**KINDS, "added_later": str}
    older = [{**r, "added_later": None} for r in rows]  # NULL in the rows written before
    assert verify(older, head, wider).ok
    assert verify([{**r, "added_later": "x"} for r in rows], head, wider).broken_at == 1


def test_values_are_hashed_as_their_columns_store_them() -> None:
    row = {"request_id": 7, "line_no": 2.0, "risk_score": 1}
    assert normalise(row, KINDS) == {"request_id": "7", "line_no": 2, "risk_score": 1.0}
    nan = normalise({**row, "risk_score": float("nan")}, KINDS)
    assert nan["risk_score"] is None  # SQLite stores NaN as NULL
    with pytest.raises(KeyError):
        normalise({"request_id": "r"}, KINDS)


def test_extend_numbers_and_links_the_rows() -> None:
    rows, head = _chain(3, start=5)
    assert [r["id"] for r in rows] == [5, 6, 7]
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in rows[1:]] == [r["row_hash"] for r in rows[:-1]]
    one = prepare([{"request_id": "x", "line_no": 1, "risk_score": 0}], KINDS)
    more = extend(one, 7, head.last_hash)
    assert more[0]["id"] == 8 and more[0]["prev_hash"] == rows[-1]["row_hash"]
    v = verify(rows, head, KINDS)
    assert v.ok and (v.chained, v.legacy, v.chain_start) == (3, 0, 5)


def test_verify_names_the_first_broken_link() -> None:
    rows, head = _chain(5)
    changed = [dict(r) for r in rows]
    changed[1]["risk_score"] = 0.9
    changed[3]["line_no"] = 0
    v = verify(changed, head, KINDS)
    assert (v.ok, v.broken_at) == (False, 2) and "changed" in (v.problem or "")
    v = verify(rows[:2] + rows[3:], head, KINDS)
    assert v.broken_at == 3 and "row 3 is missing" in (v.problem or "")
    v = verify(rows[:3], head, KINDS)
    assert v.broken_at == 4 and "rows 4-5 are missing" in (v.problem or "")
    v = verify(rows, ChainHead(1, 5, "f" * 64), KINDS)
    assert v.broken_at == 5 and "head" in (v.problem or "")
    v = verify(rows, ChainHead(1, 4, rows[3]["row_hash"]), KINDS)
    assert v.broken_at == 5 and "after the head" in (v.problem or "")
    text = verify(rows[:3], head, KINDS).report()
    assert text == [f"audit chain BROKEN at row 4: {verify(rows[:3], head, KINDS).problem}"]


def test_rows_before_the_chain_are_counted_not_covered() -> None:
    rows, head = _chain(2, start=4)
    old = [{"id": i, "request_id": "old", "line_no": 1, "risk_score": 0.1, "row_hash": None,
            "prev_hash": None} for i in (1, 2, 3)]  # fmt: skip
    v = verify(old + rows, head, KINDS)
    assert v.ok and (v.legacy, v.chained) == (3, 2)
    assert any("rows 1-3 (3 rows) were written before the chain" in x for x in v.report())
    empty = verify(old, None, KINDS)
    assert empty.ok and empty.legacy == 3 and "no hash chain" in empty.report()[0]
    assert not verify(rows, None, KINDS).ok  # hashes, but the head is gone


def test_a_chain_rehashed_whole_is_found_only_against_a_head_noted_before() -> None:
    rows, head = _chain(5)
    noted = rows[2]["row_hash"]  # written down outside the database after row 3
    assert verify(rows, head, KINDS, noted=noted).noted_at == 3
    assert "row 3's" in "\n".join(verify(rows, head, KINDS, noted=noted).report())
    # Someone with write access changes row 2 and recomputes every hash and the head.
    forged = [{k: r[k] for k in KINDS} for r in rows]
    forged[1]["risk_score"] = 0.0
    rewritten = extend(prepare(forged, KINDS), 0, GENESIS)
    new_head = ChainHead(1, 5, rewritten[-1]["row_hash"])
    assert verify(rewritten, new_head, KINDS).ok  # the chain alone cannot tell
    v = verify(rewritten, new_head, KINDS, noted=noted)
    assert not v.ok and v.broken_at == 1 and "noted head hash" in (v.problem or "")


def test_the_hashed_fields_are_named_by_plain_texts() -> None:
    """SQLAlchemy names columns with a str subclass; the chain's canonical JSON of every
    audit row takes orjson's path only with plain ``str`` keys (models.json_text)."""
    from models.store.tables import HASHED

    assert HASHED and all(type(k) is str for k in HASHED)


def test_a_batch_is_prepared_as_each_row_alone() -> None:
    """The column-at-a-time checks give each row's fields and text as row by row."""
    from models.json_text import BATCH_MIN

    def one_by_one(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        out = []
        for r in rows:
            fields = normalise(r, KINDS)
            out.append((fields, canonical_text(fields)))
        return out

    from models.audit_chain import canonical as canonical_text

    def texts(prepared: list[tuple[dict[str, Any], str | bytes]]) -> list[tuple[Any, str]]:
        return [(f, t if isinstance(t, str) else t.decode()) for f, t in prepared]

    plain = [{"request_id": f"Ü{i}", "line_no": i, "risk_score": i / 7} for i in range(BATCH_MIN)]
    odd_rows = (
        {"request_id": "r", "line_no": None, "risk_score": None},  # NULLs left out
        {"request_id": "r", "line_no": 2.0, "risk_score": 1},  # converted to their types
        {"request_id": 7, "line_no": 1, "risk_score": 0.5},
        {"request_id": "r", "line_no": 1, "risk_score": float("nan")},  # NULL
        {"request_id": "r", "line_no": 1, "risk_score": 1e-07},  # json's exponent
        {"request_id": "r", "line_no": 1, "risk_score": 0.5, "extra": "not hashed"},
    )
    for odd in odd_rows:
        rows = [*plain[:-1], odd]
        assert texts(prepare(rows, KINDS)) == one_by_one(rows), odd
    assert texts(prepare(plain, KINDS)) == one_by_one(plain)
    assert all(isinstance(t, bytes) for _f, t in prepare(plain, KINDS))
    assert prepare(plain[:3], KINDS) == one_by_one(plain[:3])  # a few rows: one by one
    with pytest.raises(KeyError):
        prepare([*plain[:-1], {"request_id": "r", "line_no": 1}], KINDS)
    with pytest.raises(KeyError):  # as many fields, one of them unknown
        prepare([*plain[:-1], {"request_id": "r", "line_no": 1, "other": 1.0}], KINDS)


def test_a_link_hashes_text_and_its_utf8_bytes_alike() -> None:
    text = '{"request_id":"Ü","risk_score":0.5}'
    assert link(7, text.encode(), "a" * 64) == link(7, text, "a" * 64)
    want = hashlib.sha256(f"{'a' * 64}\n7\n{text}".encode()).hexdigest()
    assert link(7, text.encode(), "a" * 64) == want


# The columns of a scored line's row that the input's form concerns (models.audit_chain.FORM).
FORMED = {**KINDS, "input_hash": str, "input_json": str, "reasons_json": str, "chain_form": int}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _formed(n: int, form: int | None = 1, first: int = 0) -> list[dict[str, Any]]:
    rows = []
    for i in range(first, first + n):
        text = f'{{"entry_id":"E-{i}","name":"MÜLLER \\\\ \\"{i}\\""}}'
        reasons = f'{{"reasons":[{{"code":"route","text":"Shipped \\"{i}\\" ☃"}}]}}'
        rows.append({"request_id": f"r{i}", "line_no": i, "risk_score": i / 3,
                     "input_hash": _sha(text), "input_json": text, "reasons_json": reasons,
                     "chain_form": form})  # fmt: skip
    return rows


def _chained(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], ChainHead]:
    chained = extend(prepare(rows, FORMED), 0, GENESIS)
    return chained, ChainHead(1, chained[-1]["id"], chained[-1]["row_hash"])


def _dumps(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_a_row_by_hash_covers_its_texts_by_their_hashes() -> None:
    """Its input by its input_hash, its reasons by the SHA-256 of their text."""
    from models.audit_chain import BY_HASH, canonical, covered

    (row,) = _formed(1)
    assert BY_HASH == 1
    fields = {k: v for k, v in row.items() if k not in ("input_json", "reasons_json")}
    text = _dumps({**fields, "reasons_sha256": _sha(row["reasons_json"])})
    assert '"chain_form":1' in text and row["input_hash"] in text
    assert "MÜLLER" not in text and "☃" not in text
    want = hashlib.sha256(f"{GENESIS}\n7\n{text}".encode()).hexdigest()
    assert row_hash({**row, "id": 7}, FORMED, GENESIS) == want
    assert canonical(row) == text and "input_json" not in covered(row)
    assert row == _formed(1)[0]  # the row itself is left as it was
    # No reasons (NULL): no reasons' hash either.
    assert canonical({**row, "reasons_json": None}) == _dumps(fields)
    # Any other form (NULL: every row before the column) covers the input's text itself.
    for form in (None, 2):
        other = {**row, "chain_form": form}
        full = {k: v for k, v in other.items() if v is not None}
        assert canonical(other) == _dumps(full)
    # NULLs are still left out of a row by hash.
    assert canonical({**row, "line_no": None}) == text.replace('"line_no":0,', "")
    assert '"line_no":0,' in text


@pytest.mark.parametrize("n", [1, 7, 8, 9, 30])
def test_rows_by_hash_are_prepared_in_a_batch_as_each_row_alone(n: int) -> None:
    """Below and above json_text.BATCH_MIN (8), with NULLs and mixed forms."""
    from models.audit_chain import canonical

    def alone(rows: list[dict[str, Any]]) -> list[str]:
        return [canonical(normalise(r, FORMED)) for r in rows]

    def texts(rows: list[dict[str, Any]]) -> list[str]:
        return [t if isinstance(t, str) else t.decode() for _f, t in prepare(rows, FORMED)]

    rows = _formed(n)
    assert texts(rows) == alone(rows)
    assert all("input_json" not in t and "reasons_sha256" in t for t in texts(rows))
    mixed = [{**r, "chain_form": None} if i % 2 else r for i, r in enumerate(rows)]
    assert texts(mixed) == alone(mixed)
    assert sum("input_json" in t for t in texts(mixed)) == n // 2
    nulls = [{**r, "line_no": None} if i == n - 1 else r for i, r in enumerate(rows)]
    assert texts(nulls) == alone(nulls)
    old = [{**r, "chain_form": None} for r in rows]
    assert all("input_json" in t for t in texts(old))
    prepared = prepare(rows, FORMED)
    assert [f["input_json"] for f, _t in prepared] == [r["input_json"] for r in rows]


def test_an_intact_chain_of_both_forms_verifies() -> None:
    rows, head = _chained([*_formed(3, None), *_formed(9, 1, first=3)])
    v = verify(rows, head, FORMED)
    assert v.ok and v.chained == 12


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("input_json", '{"entry_id":"E-4"}', "input was changed"),
        ("input_json", None, "input was changed"),
        ("input_hash", "0" * 64, "changed after it was written"),
        ("input_hash", None, "changed after it was written"),
        ("risk_score", 0.99, "changed after it was written"),
        ("reasons_json", '{"reasons":[]}', "changed after it was written"),
        ("reasons_json", None, "changed after it was written"),
        ("chain_form", None, "changed after it was written"),
        ("chain_form", 2, "changed after it was written"),
    ],
)
def test_verify_finds_each_change_to_a_row_by_hash(field: str, value: Any, says: str) -> None:
    rows, head = _chained(_formed(10))
    changed = [dict(r) for r in rows]
    changed[3][field] = value
    v = verify(changed, head, FORMED)
    assert (v.ok, v.broken_at) == (False, 4) and says in (v.problem or ""), v.problem


def test_verify_finds_a_changed_input_in_a_row_of_the_older_form() -> None:
    rows, head = _chained(_formed(10, None))
    changed = [dict(r) for r in rows]
    changed[3]["input_json"] = '{"entry_id":"E-4"}'
    v = verify(changed, head, FORMED)
    assert v.broken_at == 4 and "changed after it was written" in (v.problem or "")
    changed[3] = {**rows[3], "chain_form": 1}  # made to look like a row by hash
    assert verify(changed, head, FORMED).broken_at == 4


def test_verify_finds_a_row_by_hash_whose_form_reads_as_text() -> None:
    """A form stored as '1' (SQLite accepts text in any column) is checked as 1 is."""
    rows, head = _chained(_formed(3))
    changed = [dict(r) for r in rows]
    changed[1]["chain_form"] = "1"
    assert verify(changed, head, FORMED).ok
    changed[1]["input_json"] = "{}"
    v = verify(changed, head, FORMED)
    assert v.broken_at == 2 and "input was changed" in (v.problem or "")


def test_a_forged_row_in_a_removed_rows_place_breaks_the_next_link() -> None:
    rows, head = _chained(_formed(6))
    forged = {k: rows[2][k] for k in FORMED}
    forged["risk_score"] = 0.0
    (made,) = extend(prepare([forged], FORMED), 2, rows[1]["row_hash"])  # a valid-looking row 3
    v = verify([*rows[:2], made, *rows[3:]], head, FORMED)
    assert v.broken_at == 4 and "link from row 3" in (v.problem or "")


def test_input_matches_only_a_text_hashing_to_its_hash() -> None:
    from models.audit_chain import input_matches
    from models.store import input_hash

    text = '{"a":"Ü"}'
    assert input_hash(text) == _sha(text)  # the decision id's hash, the same function
    assert input_matches({"input_json": text, "input_hash": _sha(text)})
    assert not input_matches({"input_json": text + " ", "input_hash": _sha(text)})
    assert not input_matches({"input_json": None, "input_hash": _sha("")})
    assert not input_matches({"input_json": "", "input_hash": None})
    assert input_matches({"input_json": "", "input_hash": _sha("")})
    assert not input_matches({"input_json": text.encode(), "input_hash": _sha(text)})
