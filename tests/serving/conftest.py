"""Fixtures for the API tests: a private MLflow registry, keys, and app clients.

The model is the session's trained ``registered_model`` (tests/conftest.py), copied into a
registry private to these tests so that reload tests can move aliases freely. Set
``FLRISK_TEST_TINY_MODEL=1`` to use a tiny model trained in seconds instead (fast iteration),
or ``FLRISK_TEST_MODEL_URI``, ``FLRISK_TEST_TRACKING_URI`` and ``FLRISK_TEST_LINES`` to use
a model already registered elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bundletools import checked
from fastapi.testclient import TestClient
from servetools import add_keys, make_lines, make_settings, register, train_bundle

from models.contract.validate import validate_lines
from models.scoring.bundle import ModelBundle
from models.settings import Settings


@pytest.fixture(scope="session")
def model_source(request: pytest.FixtureRequest) -> SimpleNamespace:
    """The bundle under test and contract-shaped lines to score with it."""

    if os.environ.get("FLRISK_TEST_TINY_MODEL") == "1":
        lines = validate_lines(make_lines(120, seed=9, labels=False)).frame
        return SimpleNamespace(bundle=checked(train_bundle()), lines=lines)
    from models.scoring.lookup import fetch_bundle, resolve

    if os.environ.get("FLRISK_TEST_MODEL_URI"):  # an already registered model (dev runs)
        from models.contract.reader import read_entry_lines

        uri, lines_path = os.environ["FLRISK_TEST_MODEL_URI"], os.environ["FLRISK_TEST_LINES"]
        s = Settings().model_copy(
            update={"mlflow_tracking_uri": os.environ["FLRISK_TEST_TRACKING_URI"]}
        )
        frame = read_entry_lines(lines_path, allow_bad_rows=True).frame.head(200)
        return SimpleNamespace(bundle=checked(fetch_bundle(resolve(uri, s), s)), lines=frame)
    rm = request.getfixturevalue("registered_model")
    bundle = checked(fetch_bundle(resolve(rm.uri, rm.settings), rm.settings))
    return SimpleNamespace(bundle=bundle, lines=rm.score_lines.head(200).reset_index(drop=True))


@pytest.fixture(scope="session")
def tiny_bundle() -> ModelBundle:
    """A second, different model (a new version for reload tests)."""
    return checked(train_bundle(seed=3, rounds=15))


@pytest.fixture(scope="session")
def registry(
    tmp_path_factory: pytest.TempPathFactory, model_source: SimpleNamespace
) -> SimpleNamespace:
    """A private registry where ``flrisk@champion`` is the model under test (never moved)."""
    root = tmp_path_factory.mktemp("registry")
    settings = make_settings(root)
    reg = register(model_source.bundle, settings)
    return SimpleNamespace(settings=settings, version=reg.version)


@pytest.fixture
def make_client(
    tmp_path: Path, registry: SimpleNamespace
) -> Iterator[Callable[..., tuple[TestClient, dict[str, str], Settings]]]:
    """``make_client(**settings)``: a started app on the shared registry, with keys."""
    from serving.app import create_app

    clients: list[TestClient] = []

    def make(
        settings: Settings | None = None, with_keys: bool = True, **extra: Any
    ) -> tuple[TestClient, dict[str, str], Settings]:
        s = settings or make_settings(tmp_path / f"app{len(clients)}").model_copy(
            update={"mlflow_tracking_uri": registry.settings.tracking_uri(), **extra}
        )
        keys = add_keys(s) if with_keys and not s.keys_path().exists() else {}
        client = TestClient(create_app(s))
        client.__enter__()
        clients.append(client)
        return client, keys, s

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def api(make_client: Callable[..., Any]) -> SimpleNamespace:
    """A started app serving the model under test, with one key per role."""
    client, keys, settings = make_client()
    return SimpleNamespace(client=client, keys=keys, settings=settings)
