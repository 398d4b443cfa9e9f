import subprocess
import sys
import textwrap

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


def test_the_server_process_imports_lightgbm_and_mlflow_without_sklearn_and_pyspark(tmp_path):
    code = """
        import sys
        from serving.app import create_app
        create_app()
        import lightgbm, mlflow
        from mlflow.tracking import MlflowClient
        import numpy as np
        rng = np.random.default_rng(0)
        data = lightgbm.Dataset(rng.random((200, 3)), label=rng.random(200) > 0.5)
        booster = lightgbm.train({"verbose": -1, "num_threads": 1}, data, 3)
        assert booster.predict(rng.random((2, 3)), pred_contrib=True).shape == (2, 4)
        assert MlflowClient
        print(sorted(m for m in ("sklearn", "pyspark") if m in sys.modules))
    """
    env = {"FLRISK_DATA_DIR": str(tmp_path), "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
