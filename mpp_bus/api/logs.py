"""Personal data never reaches the server's logs: the access log shows ``GET /layanan?q=33************01``.

uvicorn configures its loggers before it builds the app, so the app factory adds the redacting filter to them (and
to their handlers, for records that propagate from child loggers). Adding it twice is harmless but skipped.
"""

from __future__ import annotations

import logging

from mpp_bus.privacy import RedactingFilter

SERVER_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "mpp_bus")


def redact_server_logs(names: tuple[str, ...] = SERVER_LOGGERS) -> None:
    """Put a ``RedactingFilter`` on the server's loggers, their handlers and the root logger's handlers."""
    targets: list[logging.Filterer] = []
    for name in names:
        logger = logging.getLogger(name)
        targets.append(logger)
        targets.extend(logger.handlers)
    targets.extend(logging.getLogger().handlers)
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
