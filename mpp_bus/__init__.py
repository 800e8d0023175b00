"""mpp-bus: the integration bus of MPP Digital.

Adapters wrap the systems agencies already run behind a canonical service schema; the sync engine keeps one portal
store in step with all of them, from the CLI or from Airflow.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
