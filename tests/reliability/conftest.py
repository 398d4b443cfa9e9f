"""Fixtures of the reliability tests: the session model, a private registry, PostgreSQL,
an empty audit store on SQLite and on PostgreSQL.

The model is the session's trained ``registered_model`` (tests/conftest.py); tests that move
aliases or corrupt files copy its bundle into a private registry. Helpers are in
``reltools.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from bundletools import checked
from reltools import TINY, PgCluster, _pg_bin, free_port, helpers, make_settings, register

from models.scoring.bundle import ModelBundle
from models.store import AuditStore


@pytest.fixture(scope="session")
def bundle(request: pytest.FixtureRequest) -> ModelBundle:
    """The session's trained model bundle."""
    from models.scoring.lookup import fetch_bundle, resolve

    if TINY:
        tiny: ModelBundle = helpers.train_bundle()
        return checked(tiny)
    rm = request.getfixturevalue("registered_model")
    return checked(fetch_bundle(resolve(rm.uri, rm.settings), rm.settings))


@pytest.fixture(scope="session")
def lines(request: pytest.FixtureRequest) -> pd.DataFrame:
    """300 normalised score lines of the simulated world."""
    from models.contract.validate import validate_lines

    if TINY:
        return validate_lines(helpers.make_lines(300, seed=9, labels=False)).frame
    rm = request.getfixturevalue("registered_model")
    frame: pd.DataFrame = rm.score_lines.reset_index(drop=True)
    return frame


@pytest.fixture(scope="session")
def shared_registry(
    tmp_path_factory: pytest.TempPathFactory, bundle: ModelBundle
) -> SimpleNamespace:
    """A private registry holding the session model as ``flrisk@champion`` (never moved)."""
    root = tmp_path_factory.mktemp("rel-registry")
    settings = make_settings(root)
    reg = register(bundle, settings)
    return SimpleNamespace(settings=settings, version=reg.version)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for the session (databases ``flrisk`` and ``mlflow``).

    Skipped, with the reason, where the PostgreSQL server binaries are not installed; CI
    (``.ci/run``) installs the Debian ``postgresql`` package, so there it always runs.
    """
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not installed: apt install postgresql"
        )
    root = Path(tempfile.mkdtemp(prefix="flrisk-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a 'postgres' user to own the cluster")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = PgCluster(bindir=bindir, root=root, port=free_port(), as_postgres=as_postgres)
    cluster._run(
        str(bindir / "initdb"), "-D", str(cluster.data), "-U", "postgres", "-A", "trust",
        "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
    )  # fmt: skip
    cluster.start()
    try:
        cluster.create_db("flrisk")
        cluster.create_db("mlflow")
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


_DBS = iter(range(1000))


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty audit database: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    pg: PgCluster = request.getfixturevalue("pg")
    name = f"audit_{next(_DBS)}"
    pg.create_db(name)
    return pg.url(name)


@pytest.fixture
def store(audit_url: str) -> Iterator[AuditStore]:
    """An audit store with its tables, on SQLite and on PostgreSQL (each test runs on both)."""
    s = AuditStore(audit_url)
    s.create()
    s.create()  # idempotent
    yield s
    s.dispose()
