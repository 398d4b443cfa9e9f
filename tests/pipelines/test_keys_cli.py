"""`flrisk keys`: create (the key is the last line), list (never a secret), revoke."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from models.keys import KeyStore, list_keys
from models.settings import get_settings
from pipelines.cli import app


@pytest.fixture
def keys_file(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    monkeypatch.setenv("FLRISK_API_KEYS_FILE", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_create_prints_the_key_as_its_last_line(keys_file):
    res = CliRunner().invoke(app, ["keys", "create", "screening-1", "--scope", "score",
                                   "--scope", "batch"])  # fmt: skip
    assert res.exit_code == 0, res.output
    key = res.output.strip().splitlines()[-1]
    assert key.startswith("flr_") and len(key) > 40
    assert res.stdout.strip() == key  # stdout is the key alone: KEY=$(flrisk keys create ...)
    who = KeyStore(keys_file).verify(key)
    assert who is not None and who.key_id == "screening-1" and who.scopes == {"score", "batch"}


def test_list_shows_names_and_scopes_never_a_secret(keys_file):
    runner = CliRunner()
    key = runner.invoke(app, ["keys", "create", "officer-1", "--scope", "feedback"]).stdout.strip()
    res = runner.invoke(app, ["keys", "list"])
    assert res.exit_code == 0, res.output
    assert "officer-1" in res.output and "feedback" in res.output and "active" in res.output
    stored = json.loads(keys_file.read_text())["keys"][0]
    for secret in (key, key[4:], stored["salt"], stored["sha256"]):
        assert secret not in res.output
    assert stored["sha256"][:8] in res.output  # the reference tells keys apart, no more


def test_revoke_by_name_or_reference_takes_effect_on_the_next_check(keys_file):
    runner = CliRunner()
    a = runner.invoke(app, ["keys", "create", "a", "--scope", "score"]).stdout.strip()
    b = runner.invoke(app, ["keys", "create", "b", "--scope", "score"]).stdout.strip()
    store = KeyStore(keys_file)  # a server's store, loaded before the revocation
    assert store.verify(a) and store.verify(b)
    assert runner.invoke(app, ["keys", "revoke", "a"]).exit_code == 0
    assert store.verify(a) is None and store.verify(b) is not None
    ref = next(k.ref for k in list_keys(keys_file) if k.name == "b")
    res = runner.invoke(app, ["keys", "revoke", ref])
    assert res.exit_code == 0 and "revoked key 'b'" in res.output
    assert store.verify(b) is None
    listed = runner.invoke(app, ["keys", "list"]).output
    assert listed.count("revoked 20") == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["keys", "create", "x", "--scope", "root"], "unknown scope(s) ['root']"),
        (["keys", "revoke", "nobody"], "no key named or referenced 'nobody'"),
        (["keys", "create", "bad name", "--scope", "score"], "is not a key name"),
    ],
)
def test_key_mistakes_answer_in_words(keys_file, args, words):
    res = CliRunner().invoke(app, args)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert res.output.startswith("flrisk: error: ") and words in res.output


def test_a_name_is_never_reused_even_after_revocation(keys_file):
    runner = CliRunner()
    runner.invoke(app, ["keys", "create", "alice", "--scope", "score"])
    runner.invoke(app, ["keys", "revoke", "alice"])
    res = runner.invoke(app, ["keys", "create", "alice", "--scope", "score"])
    assert res.exit_code != 0 and "already exists" in res.output
    res = runner.invoke(app, ["keys", "revoke", "alice"])
    assert res.exit_code != 0 and "already revoked" in res.output
