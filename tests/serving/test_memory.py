import json
import os
import subprocess
import sys
import textwrap

import pytest

from serving.memory import import_lean


def _module(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_import_lean_hides_the_extra_only_while_the_library_imports(tmp_path, monkeypatch):
    _module(tmp_path, "flrisk_fake_extra", "VALUE = 1\n")
    _module(
        tmp_path,
        "flrisk_fake_lib",
        """
        try:
            import flrisk_fake_extra  # an optional integration, imported eagerly
            HAS_EXTRA = True
        except ImportError:
            HAS_EXTRA = False
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("flrisk_fake_lib", "flrisk_fake_extra"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert import_lean({"flrisk_fake_lib": ("flrisk_fake_extra",)}) == ["flrisk_fake_lib"]
    assert sys.modules["flrisk_fake_lib"].HAS_EXTRA is False
    assert "flrisk_fake_extra" not in sys.modules
    import flrisk_fake_extra  # still importable by whoever needs it later

    assert flrisk_fake_extra.VALUE == 1
    # Already imported: left alone.
    assert import_lean({"flrisk_fake_lib": ("flrisk_fake_extra",)}) == []


@pytest.mark.slow
def test_a_lean_server_loads_the_model_and_explains_a_line(registered_model, tmp_path):
    """In a fresh process (pytest's has imported everything already): the server imports
    LightGBM and MLflow without scikit-learn and PySpark, then loads, scores and explains."""
    from serving.service import frame_inputs

    code = """
        import json, sys
        from fastapi.testclient import TestClient
        from models.settings import Settings
        from serving.app import create_app
        from serving.auth import create_key

        settings = Settings()
        key = create_key(settings.keys_path(), "t", ["score"])
        app = create_app(settings, model_uri=sys.argv[1])
        with TestClient(app) as client:
            body = {"lines": [json.loads(sys.argv[2])], "reasons": 3}
            r = client.post("/v1/score", json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["reasons"], r.text
        print(sorted(m for m in ("sklearn", "pyspark") if m in sys.modules))
    """
    line = json.dumps(frame_inputs(registered_model.score_lines.head(1))[0])
    env = {
        "FLRISK_DATA_DIR": str(tmp_path),
        "FLRISK_BOOTSTRAP_KEY": "false",
        "MLFLOW_TRACKING_URI": registered_model.settings.tracking_uri(),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PATH": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), registered_model.uri, line],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_arrow_allocates_from_the_c_library_after_the_switch():
    """In a fresh process: Arrow's default pool there is mimalloc or jemalloc until the
    server switches it (serving.app's lifespan), then the C library's malloc."""
    code = """
        import pyarrow as pa
        from serving.memory import arrow_on_system_malloc

        before = pa.default_memory_pool().backend_name
        arrow_on_system_malloc()
        table = pa.table({"x": list(range(1000))})
        print(before, pa.default_memory_pool().backend_name, pa.total_allocated_bytes() > 0)
    """
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, check=True, env=env,
    ).stdout.split()  # fmt: skip
    assert out[0] != "system"
    assert out[1:] == ["system", "True"]


def test_the_server_switches_arrow_to_the_c_library_before_loading_its_model(make_client):
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.mimalloc_memory_pool())  # as a fresh process has it
    try:
        client, _keys, _settings = make_client()
        assert pa.default_memory_pool().backend_name == "system"
        r = client.get("/readyz")
        assert r.status_code == 200, r.text  # the model loaded, on the system pool
    finally:
        pa.set_memory_pool(previous)
