"""Environment-dependent settings, read once from the environment (prefix ``FLRISK_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every value that differs between a laptop, CI and a deployment.

    Training parameters are not here: they live in a TOML file logged with each run.
    """

    model_config = SettingsConfigDict(env_prefix="FLRISK_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where stores and outputs live.")
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "FLRISK_MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry store; default: SQLite under data_dir.",
    )
    model_name: str = "flrisk"
    model_alias: str = "champion"
    num_threads: int = Field(default=2, ge=1, description="LightGBM threads, set explicitly.")
    audit_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the audit store; default: SQLite."
    )
    api_keys_file: Path | None = Field(
        default=None, description="JSON file of hashed API keys; default: data_dir/api_keys.json."
    )

    # Serving (``flrisk serve``): limits, CORS, shadow model, reload.
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list); none: CORS closed."
    )
    shadow_alias: str | None = Field(
        default=None,
        description="Alias scored in shadow (e.g. challenger): logged, never returned.",
    )
    reload_interval_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Re-resolve the alias every N seconds (0: only on request).",
    )
    model_check_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="A new model is first loaded and scored in a child process, killed and "
        "the model refused after this long (a malformed model file can abort LightGBM).",
    )
    rate_limit_per_minute: float = Field(default=600.0, gt=0, description="Requests/min per key.")
    rate_limit_burst: int = Field(default=60, ge=1, description="Requests a key may burst.")
    max_json_bytes: int = Field(default=10 * 2**20, ge=1024, description="JSON body limit.")
    max_upload_bytes: int = Field(default=200 * 2**20, ge=1024, description="File upload limit.")
    sync_file_lines: int = Field(
        default=20_000, ge=1, description="Uploads with more good lines become background jobs."
    )
    bootstrap_key: bool = Field(
        default=True, description="Create and print one admin key when no keys file exists."
    )
    lean_imports: bool = Field(
        default=True,
        description="The server imports LightGBM without its scikit-learn API and MLflow "
        "without PySpark, for the life of the process (about 70 MB less resident memory).",
    )

    demo_data: Path | None = Field(
        default=None, description="Entry lines the workbench offers by date (FLRISK_DEMO_DATA)."
    )

    def tracking_uri(self) -> str:
        """The MLflow store to use: the environment's, else an SQLite file under ``data_dir``."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    def audit_store_url(self) -> str:
        """The audit store: the configured URL, else an SQLite file under ``data_dir``."""
        if self.audit_url:
            return self.audit_url
        return f"sqlite:///{(self.data_dir / 'audit.db').resolve()}"

    def keys_path(self) -> Path:
        """Where hashed API keys are stored."""
        return self.api_keys_file or self.data_dir / "api_keys.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read from the environment, cached for the process."""
    return Settings()
