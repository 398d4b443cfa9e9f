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
    settings: Settings, *, chunk_lines: int | None = None, ready: bool = True,
    env: dict[str, str] | None = None, nofile: int | None = None,
) -> Iterator[ServerProcess]:  # fmt: skip
    """Run ``tests/reliability/serve_app.py`` for ``settings``; killed at the end.

    ``env`` adds variables (other settings); ``nofile`` limits the server's open files.
    """
    port = free_port()
    log = settings.data_dir / f"server-{port}.log"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "serve_app.py"), "--port", str(port)]
    if chunk_lines:
        cmd += ["--chunk-lines", str(chunk_lines)]

    def limit_files() -> None:
        if nofile:
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env={**settings_env(settings), **(env or {})}, stdout=out, stderr=out,
            cwd=REPO, preexec_fn=limit_files,
        )  # fmt: skip
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


# --- Files that hold more than their size says (issue #16, rows 1 and 2) ---------------------

ATTACK_LINE = {
    "entry_id": "ATK-0000001-1", "line_no": "1", "entry_date": "2025-03-14",
    "hts_code": "6109.10.0012", "country_of_origin": "CN", "importer_id": "IMP-1",
    "importer_name": "ACME IMPORTS LLC", "manufacturer_id": "CNACME1SHA",
    "manufacturer_name": "ACME TEXTILE CO LTD",
    "manufacturer_address": "1 Industrial Road, Shanghai, China", "shipper_name": "ACME",
    "shipper_address": "1 Port Road, Shanghai, China", "country_of_export": "CN",
    "port_of_lading": "CNSHA", "port_of_entry": "2704", "transport_mode": "vessel",
    "goods_description": "COTTON T-SHIRTS", "quantity": "1200", "quantity_unit": "NO",
    "gross_weight_kg": "2652.6", "declared_value_usd": "23326.63",
}  # fmt: skip


def expanding_parquet(path: Path, rows: int = 4_000_000, cell: str | None = None) -> Path:
    """A Parquet file of ``rows`` copies of one line: a few hundred KB on disk.

    Every column is one dictionary value repeated (run-length encoded indices), so the file
    stays small however many rows it declares. ``cell`` replaces ``goods_description``
    (a long value makes a file whose text, not its rows, is too large).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    zeros = pa.array(np.zeros(rows, dtype=np.int32))
    line = {**ATTACK_LINE, **({"goods_description": cell} if cell is not None else {})}
    table = pa.table(
        {k: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for k, v in line.items()}
    )
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20)
    return path


def wide_csv(path: Path, columns: int = 1_000_000) -> Path:
    """A CSV whose header has ``columns`` fields (the contract's, then ``x1``, ``x2``, ...)."""
    names = list(ATTACK_LINE)
    extra = columns - len(names)
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(names) + "".join(f",x{i}" for i in range(1, extra + 1)) + "\n")
        out.write(",".join(ATTACK_LINE.values()) + "," * extra + "\n")
    return path


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """The peak resident memory of a process over a block, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = rss_mb(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self.peak = max(self.peak, rss_mb(self.pid))
            self.after = rss_mb(self.pid)

    @property
    def growth(self) -> float:
        """Peak minus the memory before the block, MB."""
        return self.peak - self.before
