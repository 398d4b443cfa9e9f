"""How close to the API's ratio targets against ``mlflow models serve`` any flrisk server could
get at today's scorer speed (issue 23).

``bench/serve.py`` measures flrisk's API against ``mlflow models serve`` of the same registered
pyfunc. The pyfunc runs flrisk's own validation, signals, features and prediction
(``models/scoring/pyfunc.py``): whatever makes that shared work faster makes the alternative
faster too. This module measures, in the same run and on lines neither side has seen, the
best ratio a server could reach if everything but validation and scoring cost nothing:

- ``core_1000``: validation of 1,000 lines' JSON and ``Scorer.score`` with 3 reasons each,
  in process. No HTTP, no body parsing, no audit record, no framework. The 1,000-line best
  ratio is MLflow's p50 (scores only) over it.
- ``core_1`` plus ``floor_1``: the same for one line, plus the round trip of a bare ASGI
  endpoint in uvicorn (the loop and HTTP parser flrisk's server uses) that reads the body
  and answers a constant. The 1-line best ratio is MLflow's p50 (3 reasons asked, so the
  scoring is shared) over their sum.
- ``pyfunc_1000``/``pyfunc_1``: the pyfunc's ``predict`` in process, MLflow's schema
  enforcement included, timed after the servers stop; MLflow's HTTP p50 less it is the part
  of MLflow's time that flrisk does not share (its HTTP, JSON and DataFrame handling).

These are ceilings for today's code, not for all time: a faster shared scorer raises them,
and a faster HTTP stack than uvicorn's would lower the one-line floor. For 1,000 lines,
with MLflow's time ``P + O`` (``P`` shared, ``O`` its own) and flrisk's at least
``P + R + A`` (``R``: TreeSHAP and reason texts, ``A``: the audit record, neither of which
MLflow's scores-only answer has), a ratio of ``x`` needs ``O >= (x - 1) P + x (R + A)``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pandas as pd

BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"lines":[]}'})
"""


def median_ms(run: Callable[[int], object], reps: Sequence[int]) -> float:
    """Median wall time of ``run(r)`` over ``reps``, in milliseconds."""
    times = []
    for r in reps:
        t0 = time.perf_counter()
        run(r)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def core_ms(scorer: Any, lines: list[dict[str, Any]], first: int, size: int, reps: int) -> float:
    """Median time to validate ``size`` new lines' JSON and score them with 3 reasons each."""
    from serving.service import validate_request

    passthrough = scorer.bundle.state.passthrough

    def run(r: int) -> None:
        start = first + r * size
        read = validate_request(lines[start : start + size], passthrough)
        scorer.score(read.lines, 3)

    return median_ms(run, range(reps))


def pyfunc_ms(
    model_uri: str, tracking: str, raw: pd.DataFrame, first: int, reps: int
) -> dict[str, float]:
    """The registered pyfunc's ``predict`` in process, as ``mlflow models serve`` calls it.

    Args:
        model_uri: The registered model.
        tracking: MLflow's tracking URI.
        raw: The lines as MLflow receives them (the signature's columns, as text).
        first: First row of lines not used elsewhere in this process.
        reps: Requests per measure.

    Returns:
        ``pyfunc_1_p50_ms`` (3 reasons) and ``pyfunc_1000_p50_ms`` (scores only).
    """
    import mlflow

    mlflow.set_tracking_uri(tracking)
    model = mlflow.pyfunc.load_model(model_uri)
    for i in range(20):  # warm-up, as the server's first requests would
        model.predict(raw.iloc[[first + i]], params={"reasons": 3})
    first += 20
    one = median_ms(
        lambda r: model.predict(raw.iloc[[first + r]], params={"reasons": 3}), range(reps * 20)
    )
    first += reps * 20
    thousand = median_ms(
        lambda r: model.predict(raw.iloc[first + 1000 * r : first + 1000 * (r + 1)]), range(reps)
    )
    return {"pyfunc_1_p50_ms": one, "pyfunc_1000_p50_ms": thousand}


class BareServer:
    """A bare ASGI endpoint in its own uvicorn process: the HTTP round trip and nothing else."""

    def __init__(self, port: int) -> None:
        code = (
            f"{BARE_APP}\nimport uvicorn\n"
            f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning', "
            "access_log=False)"
        )
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        self.url = f"http://127.0.0.1:{port}/"
        self.client = httpx.Client(timeout=60)

    def wait(self) -> None:
        """Block until the endpoint answers."""
        t0 = time.time()
        while time.time() - t0 < 60:
            try:
                self.client.post(self.url, json={})
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(self.url)

    def one_ms(self, body: Any) -> float:
        """Milliseconds for one request carrying ``body``."""
        t0 = time.perf_counter()
        r = self.client.post(self.url, json=body)
        ms = (time.perf_counter() - t0) * 1000
        r.raise_for_status()
        return ms

    def close(self) -> None:
        """Stop the server."""
        self.client.close()
        stop(self.proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process; kill it if it has not ended within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def ceilings(res: dict[str, float]) -> dict[str, float]:
    """The ceiling ratios and MLflow's own time, from whichever measures the run has."""
    out: dict[str, float] = {}
    if "floor_http_1_p50_ms" in res:
        least = res["core_1_p50_ms"] + res["floor_http_1_p50_ms"]
        out["ceiling_ratio_http_1_p50_ms"] = res["mlflow_http_1_p50_ms"] / least
    out["ceiling_ratio_http_1000_p50_ms"] = res["mlflow_http_1000_p50_ms"] / res["core_1000_p50_ms"]
    for size in ("1", "1000"):
        if f"pyfunc_{size}_p50_ms" in res:
            own = res[f"mlflow_http_{size}_p50_ms"] - res[f"pyfunc_{size}_p50_ms"]
            out[f"mlflow_own_{size}_ms"] = own
    return out
