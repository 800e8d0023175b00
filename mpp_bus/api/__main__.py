"""``python -m mpp_bus.api [--host H] [--port P]``: serve the API with settings from the environment.

``mpp-bus api serve`` is the full command (it also takes the CLI's global options); this one needs nothing above
the API package, which sits below the CLI in the layers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    import uvicorn

    from mpp_bus.api.settings import ApiSettings

    parser = argparse.ArgumentParser(prog="python -m mpp_bus.api", description="Serve the portal read API.")
    parser.add_argument("--host", help="listen address (default: $MPP_API_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $MPP_API_PORT or 8080)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    api = ApiSettings()
    uvicorn.run("mpp_bus.api.app:app_from_env", factory=True, host=args.host or api.host, port=args.port or api.port,
                log_level=args.log_level, access_log=True, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
