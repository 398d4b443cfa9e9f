"""Environment-dependent settings, read once from the environment (prefix ``FLRISK_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

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
        description="Alias scored in shadow (e.g. challenger): stored, never returned.",
    )
    drift_window: int = Field(
        default=10_000, ge=100, description="Recently scored lines the drift PSI is computed over."
    )
    drift_threshold: float = Field(
        default=0.2, gt=0, description="PSI above which a drift measure raises an alert."
    )
    drift_min_lines: int = Field(
        default=1_000, ge=1, description="Lines in the drift window before it is checked."
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
    # What one uploaded file may hold, checked before it is read (Parquet metadata, the CSV
    # header) and while it is read in chunks (413 past a limit). A file's bytes do not bound
    # it: 357 KB of Parquet held 4,000,000 rows. docs/api.md says how the defaults were chosen.
    max_upload_rows: int = Field(
        default=1_000_000, ge=1, description="Rows per uploaded file (API and workbench)."
    )
    max_upload_columns: int = Field(
        default=256, ge=8, description="Columns per uploaded file, used or not."
    )
    max_upload_row_groups: int = Field(
        default=10_000, ge=1, description="Row groups per uploaded Parquet file."
    )
    max_upload_text_bytes: int = Field(
        default=512 * 2**20,
        ge=1024,
        description="Text an uploaded file holds once read, as the bytes of a CSV of its cells "
        "(a Parquet file compresses; this bounds what it expands to).",
    )
    sync_file_lines: int = Field(
        default=20_000, ge=1, description="Uploads with more good lines become background jobs."
    )
    # Before authentication (docs/deploy.md): failed keys per client address, and the
    # HTTP server's own limits. A reverse proxy in front adds its own (TLS, rates, timeouts).
    auth_failures_per_minute: float = Field(
        default=10.0, gt=0, description="Failed keys or sign-ins an address may make per minute."
    )
    auth_failure_burst: int = Field(
        default=20, ge=1, description="Failed keys or sign-ins an address may make at once."
    )
    auth_audit_interval_s: float = Field(
        default=60.0, gt=0, description="At most one audit row of failures per address per N s."
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="A request's headers must arrive within N s (slowloris)."
    )
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after N s."
    )
    max_connections: int = Field(
        default=1000, ge=1, description="Connections the server holds at most; past it: 503."
    )
    max_connections_per_client: int = Field(
        default=64, ge=0,
        description="Connections one client address may hold (0: no cap; behind a proxy).",
    )  # fmt: skip
    max_header_bytes: int = Field(
        default=64 * 1024, ge=4096, description="Request line and headers at most (h11)."
    )
    graceful_shutdown_s: int = Field(
        default=30, ge=1, description="Requests in flight get N s to finish at shutdown."
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
    # Reference versions and trade alerts (docs/reference-data.md, docs/alerts.md).
    reference_dir: Path | None = Field(
        default=None, description="Reference versions' root; default: data_dir/reference."
    )
    rescreen_days: int = Field(
        default=180, ge=1, description="Look-back of a re-screen: lines scored this many days."
    )
    webhook_urls: list[str] = Field(
        default_factory=list, description="Screening systems' webhook URLs (JSON list)."
    )
    partner_webhook_urls: list[str] = Field(
        default_factory=list,
        description="Partner authorities' webhook URLs (JSON list): enforcement actions only, "
        "never line or drift alerts.",
    )
    webhook_secret: str = Field(default="", description="HMAC-SHA256 key of webhook bodies.")
    webhook_max_tries: int = Field(
        default=8, ge=1, description="Delivery tries before an alert is dead-lettered."
    )
    webhook_backoff_s: float = Field(
        default=2.0, gt=0, description="First retry delay; doubled after each failure."
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

    def reference_root(self) -> Path:
        """Where reference versions are published (never inside the installed package)."""
        return self.reference_dir or self.data_dir / "reference"

    def keys_path(self) -> Path:
        """Where hashed API keys are stored."""
        return self.api_keys_file or self.data_dir / "api_keys.json"

    def uvicorn_options(self) -> dict[str, Any]:
        """Uvicorn's own limits, as ``flrisk serve`` passes them (see docs/deploy.md).

        The header deadline and the per-client cap are not uvicorn options: the serving
        protocol (``serving.connections``) reads them from these settings.
        """
        return {
            "timeout_keep_alive": self.keep_alive_timeout_s,
            "limit_concurrency": self.max_connections,
            "h11_max_incomplete_event_size": self.max_header_bytes,
            "timeout_graceful_shutdown": self.graceful_shutdown_s,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read from the environment, cached for the process."""
    return Settings()
