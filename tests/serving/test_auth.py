"""Key verification on its own: a failure here names the cause, not a 401 far away."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models import keys as auth  # where the key logic lives; serving.auth re-exports it
from models.keys import SCOPES
from serving.auth import KeyFileError, KeyStore, Principal, bootstrap_admin_key, create_key


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


def test_the_keys_file_stores_only_a_salted_hash_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "keys.json"  # missing folders are created
    key = create_key(path, "screening-1", ["score", "batch", "score"])
    assert key.startswith("flr_") and len(key) == len("flr_") + 43  # 32 random bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["keys.json"]  # no temporary file left
    (entry,) = json.loads(path.read_text())["keys"]
    assert key not in path.read_text()
    salt = bytes.fromhex(entry["salt"])
    assert len(salt) == 16
    assert entry["sha256"] == hashlib.sha256(salt + key.encode()).hexdigest()
    assert entry["scopes"] == ["batch", "score"]
    assert entry["id"] == "screening-1"
    created = datetime.fromisoformat(entry["created"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


def test_unknown_scopes_and_reused_ids_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    with pytest.raises(ValueError) as exc:
        create_key(path, "k", ["score", "delete", "root"])
    assert str(exc.value) == (f"unknown scope(s) ['delete', 'root']; known: {list(SCOPES)}")
    assert not path.exists()
    create_key(path, "k", ["score"])
    with pytest.raises(ValueError, match=r"^key id 'k' already exists$"):
        create_key(path, "k", ["admin"])
    assert len(json.loads(path.read_text())["keys"]) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"keys": {"id": "k"}}', "'keys' is not a list"),
        ("{}", "'keys'"),
        ("not json", "Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_an_unreadable_keys_file_names_the_file_and_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(KeyFileError) as exc:
        KeyStore(path).verify("flr_x")
    assert str(exc.value) == f"cannot read API keys file {path}: {reason}"


def test_keys_are_reread_when_the_file_changes_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    assert store.verify("flr_anything") is None  # no file yet: no keys
    first = create_key(path, "one", ["score"])
    reads: list[Path] = []
    real_read = auth._read
    monkeypatch.setattr(auth, "_read", lambda p: reads.append(p) or real_read(p))
    assert store.verify(first).key_id == "one"  # type: ignore[union-attr]
    assert store.verify(first).key_id == "one"  # type: ignore[union-attr]
    assert len(reads) == 1  # unchanged file: cached
    second = create_key(path, "two", ["admin"])  # reads the file too
    reads.clear()
    assert store.verify(second).key_id == "two"  # type: ignore[union-attr]
    assert len(reads) == 1


def test_a_key_entry_without_scopes_has_none(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key = create_key(path, "k", ["score"])
    data = json.loads(path.read_text())
    del data["keys"][0]["scopes"]
    path.write_text(json.dumps(data))
    assert KeyStore(path).verify(key) == Principal("k", frozenset())


def test_the_bootstrap_key_is_created_once_with_every_scope(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key = bootstrap_admin_key(path)
    assert key is not None
    who = KeyStore(path).verify(key)
    scopes = set(SCOPES)
    assert who == Principal("admin", frozenset(scopes))
    assert bootstrap_admin_key(path) is None
    assert len(json.loads(path.read_text())["keys"]) == 1


def test_a_session_key_is_active_until_revoked(tmp_path: Path) -> None:
    """A signed-in officer's key: active while it exists, not after revocation or if unknown."""
    path = tmp_path / "keys.json"
    create_key(path, "officer-1", ["score"])
    create_key(path, "officer-2", ["score"])
    store = KeyStore(path)
    assert store.is_active("officer-1") and store.is_active("officer-2")
    assert not store.is_active("officer-3") and not store.is_active("")
    auth.revoke_key(path, "officer-1")
    assert not store.is_active("officer-1") and store.is_active("officer-2")


def test_revoking_by_reference_takes_four_characters_and_one_key(tmp_path: Path) -> None:
    """A reference is at least 4 characters of the key's hash, and must name one key only."""
    path = tmp_path / "keys.json"
    for name in ("a", "b", "c"):
        create_key(path, name, ["score"])
    data = json.loads(path.read_text())
    entries = data["keys"]
    # Hashes as the file holds them; b and c share their first five characters.
    for entry, head in zip(entries, ("1234", "abcde", "abcdf"), strict=True):
        entry["sha256"] = head + entry["sha256"][len(head) :]
    path.write_text(json.dumps(data))
    with pytest.raises(auth.KeyRequestError, match="no key named or referenced '123'"):
        auth.revoke_key(path, "123")
    assert auth.revoke_key(path, "1234").name == "a"
    with pytest.raises(auth.KeyRequestError, match="2 keys start with the reference 'abcd'") as e:
        auth.revoke_key(path, "abcd")
    assert e.value.hint == "Give the key's name, or more characters of its reference."
    assert auth.revoke_key(path, "abcdf").name == "c"
    revoked = [k for k in auth.list_keys(path) if k.revoked]
    assert [k.name for k in revoked] == ["a", "c"]
    assert all(str(k.revoked).endswith("+00:00") for k in revoked)  # UTC, with its offset
    with pytest.raises(auth.KeyRequestError, match=r"^key 'c' was already revoked on ") as e:
        auth.revoke_key(path, "c")
    assert e.value.hint == ""  # the message says it all


def test_keys_are_listed_with_name_scopes_and_creation_time(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    assert auth.list_keys(path) == []  # no file yet: no keys, not an error
    before = datetime.now(UTC).replace(microsecond=0)
    create_key(path, "officer-1", ["score", "feedback"])
    data = json.loads(path.read_text())
    data["keys"].append({**data["keys"][0], "id": "legacy"})
    del data["keys"][1]["scopes"]  # an entry from before scopes were stored
    path.write_text(json.dumps(data))
    first, legacy = auth.list_keys(path)
    assert (first.name, set(first.scopes), first.revoked) == (
        "officer-1",
        {"score", "feedback"},
        None,
    )
    created = datetime.fromisoformat(first.created)
    assert before <= created <= datetime.now(UTC)
    assert legacy.name == "legacy" and legacy.scopes == ()


def test_a_refused_key_request_says_what_to_pass(tmp_path: Path) -> None:
    """The CLI prints the message and the hint: both name the scopes to choose from."""
    path = tmp_path / "keys.json"
    with pytest.raises(auth.KeyRequestError, match=r"^a key needs at least one scope$") as exc:
        create_key(path, "k", [])
    assert exc.value.hint == (
        f"Pass one --scope per scope ({', '.join(SCOPES)}), e.g. --scope score."
    )
    with pytest.raises(auth.KeyRequestError) as exc:
        create_key(path, "k", ["scores"])
    assert exc.value.hint == "Pass one --scope per scope, e.g. --scope score --scope batch."
    with pytest.raises(auth.KeyRequestError, match=r"^'-k' is not a key name$") as exc:
        create_key(path, "-k", ["score"])
    assert exc.value.hint == (
        "Use up to 64 letters, digits and . _ @ - (starting with a letter or digit)."
    )
    create_key(path, "k", ["score"])
    with pytest.raises(auth.KeyRequestError) as exc:
        create_key(path, "k", ["score"])
    assert exc.value.hint == (
        "Names are never reused (audit rows name keys by them): pick another name; "
        "`flrisk keys list` shows the names taken."
    )


def test_the_first_key_creates_the_keys_directory(tmp_path: Path) -> None:
    path = tmp_path / "state" / "auth" / "keys.json"
    key = create_key(path, "officer-1", ["score"])
    assert KeyStore(path).verify(key) is not None
    assert [p.name for p in path.parent.iterdir()] == ["keys.json"]  # no temporary left
