"""The client side of the mock agencies' admin endpoints, light enough for any process to import.

``ADMIN_TOKEN`` is the published demo token every mock server checks (``X-Admin-Token``).
"""

from __future__ import annotations

import json
import urllib.request

ADMIN_TOKEN = "mock-admin"


def advance(url: str, dataset: str, count: int, timeout: float = 10) -> list[str]:
    """Ask the mock agency at ``url`` to move ``count`` applications of ``dataset`` forward; returns their ids."""
    request = urllib.request.Request(
        f"{url}/admin/advance", data=json.dumps({"dataset": dataset, "count": count}).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Admin-Token": ADMIN_TOKEN},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return list(json.load(response)["advanced"])
