"""Run the API in this process (settings from the environment), for tests that kill it.

python tests/reliability/serve_app.py --port 8123 [--chunk-lines 50]
"""

from __future__ import annotations

import argparse

import uvicorn

from models.settings import Settings
from serving.app import create_app
from serving.connections import GuardedProtocol


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunk-lines", type=int, default=0)
    args = parser.parse_args()
    settings = Settings()
    app = create_app(settings)
    if args.chunk_lines:
        app.state.jobs.chunk_lines = args.chunk_lines
    # The limits of ``flrisk serve`` (pipelines/cli.py), so tests meet the server users run.
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", workers=1,
        http=GuardedProtocol, **settings.uvicorn_options(),
    )  # fmt: skip


if __name__ == "__main__":
    main()
