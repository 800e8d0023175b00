"""``python -m mpp_bus.api [--host H] [--port P]``: serve the API with settings from the environment."""

from __future__ import annotations

import sys

from mpp_bus.api.cli import serve_main

if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:]))
