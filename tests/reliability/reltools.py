"""Helpers of the reliability tests: live servers, server processes, a PostgreSQL cluster.

Not a conftest: test modules import it by this unique name (``from reltools import ...``), so
it never collides with ``tests/serving/conftest.py`` when both folders are collected.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import httpx

from models.settings import Settings

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _serving_helpers() -> ModuleType:
    name = "flrisk_serving_test_helpers"
    if name in sys.modules:
        return sys.modules[name]
    path = REPO / "tests" / "serving" / "servetools.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


helpers = _serving_helpers()
make_settings = helpers.make_settings
register = helpers.register
add_keys = helpers.add_keys
auth = helpers.auth
lines_json = helpers.lines_json


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, ok: tuple[int, ...] = (200,)) -> httpx.Response:
    """GET ``url`` until it answers one of ``ok`` (or raise after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code in ok:
                return r
            last = r.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {ok} within {timeout} s (last: {last!r})")


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="flrisk-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``Settings()`` in another process equal ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLRISK_") and k != "MLFLOW_TRACKING_URI"
    }
    env.update(
        FLRISK_DATA_DIR=str(settings.data_dir),
        MLFLOW_TRACKING_URI=settings.tracking_uri(),
        FLRISK_AUDIT_URL=settings.audit_store_url(),
        FLRISK_API_KEYS_FILE=str(settings.keys_path()),
        FLRISK_NUM_THREADS=str(settings.num_threads),
        FLRISK_BOOTSTRAP_KEY="false",
        FLRISK_SYNC_FILE_LINES=str(settings.sync_file_lines),
        FLRISK_RATE_LIMIT_PER_MINUTE=str(settings.rate_limit_per_minute),
        FLRISK_RATE_LIMIT_BURST=str(settings.rate_limit_burst),
        FLRISK_RELOAD_INTERVAL_S=str(settings.reload_interval_s),
        MLFLOW_DISABLE_TELEMETRY="true",
        PYTHONPATH=str(REPO),
    )
    return env


@dataclass
class ServerProcess:
    """An API server in its own process (so a test can kill it)."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# A server process answers once it has imported its libraries and loaded (or given up
# waiting for) its model, a child process having loaded it first: seconds on an idle machine,
# over a minute on a busy 2-core one.
START_TIMEOUT_S = 240.0


@contextlib.contextmanager
def server_process(
    settings: Settings, *, chunk_lines: int | None = None, ready: bool = True
) -> Iterator[ServerProcess]:
    """Run ``tests/reliability/serve_app.py`` for ``settings``; killed at the end."""
    port = free_port()
    log = settings.data_dir / f"server-{port}.log"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "serve_app.py"), "--port", str(port)]
    if chunk_lines:
        cmd += ["--chunk-lines", str(chunk_lines)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=settings_env(settings), stdout=out, stderr=out, cwd=REPO)
    server = ServerProcess(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_http(f"{server.url}/healthz", timeout=START_TIMEOUT_S)
        if ready:
            wait_http(f"{server.url}/readyz", timeout=START_TIMEOUT_S)
        yield server
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        server.kill()


TINY = os.environ.get("FLRISK_TEST_TINY_MODEL") == "1"  # fast iteration, as tests/serving


def app_settings(root: Path, registry: SimpleNamespace, **extra: Any) -> Settings:
    """Settings of one app: own data dir, audit store and keys; the shared registry."""
    return make_settings(root).model_copy(
        update={"mlflow_tracking_uri": registry.settings.tracking_uri(), **extra}
    )


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgCluster:
    """A throwaway PostgreSQL cluster on loopback."""

    bindir: Path
    root: Path
    port: int
    as_postgres: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, db: str = "flrisk") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
            str(self.root / "pg.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_db(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
