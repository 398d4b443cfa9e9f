"""Run the API in this process (settings from the environment), for tests that kill it.

python tests/reliability/serve_app.py --port 8123 [--chunk-lines 50]
"""

from __future__ import annotations

import argparse

import uvicorn

from models.settings import Settings
from serving.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunk-lines", type=int, default=0)
    args = parser.parse_args()
    app = create_app(Settings())
    if args.chunk_lines:
        app.state.jobs.chunk_lines = args.chunk_lines
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", workers=1)


if __name__ == "__main__":
    main()
