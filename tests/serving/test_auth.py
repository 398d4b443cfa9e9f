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


def test_a_key_revoked_with_the_cli_is_refused_by_a_running_server(make_client, monkeypatch):
    """``flrisk keys revoke`` on the keys file of a running app: 401 from the next request."""
    from servetools import auth
    from typer.testing import CliRunner

    from models.settings import get_settings
    from pipelines.cli import app

    client, keys, settings = make_client()
    monkeypatch.setenv("FLRISK_API_KEYS_FILE", str(settings.keys_path()))
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(app, ["keys", "create", "screening-9", "--scope", "score"])
        key = made.stdout.strip()
        assert client.get("/v1/model", headers=auth(key)).status_code == 200
        assert CliRunner().invoke(app, ["keys", "revoke", "screening-9"]).exit_code == 0
        assert client.get("/v1/model", headers=auth(key)).status_code == 401
        assert client.get("/v1/model", headers=auth(keys["scorer"])).status_code == 200
    finally:
        get_settings.cache_clear()
