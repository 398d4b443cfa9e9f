"""Key verification on its own: a failure here names the cause, not a 401 far away."""

from __future__ import annotations

from pathlib import Path

from serving.auth import KeyStore, create_key


def test_the_issued_key_is_accepted_with_its_scopes_and_nothing_else_is(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key = create_key(path, "screening-1", ["score", "batch"])
    other = create_key(path, "officer-1", ["feedback"])
    store = KeyStore(path)
    who = store.verify(key)
    assert who is not None and who.key_id == "screening-1"
    assert set(who.scopes) == {"score", "batch"}
    assert store.verify(other).key_id == "officer-1"  # type: ignore[union-attr]
    for wrong in ("", key[:-1], key + "x", key.upper() if key != key.upper() else key.lower()):
        assert store.verify(wrong) is None
