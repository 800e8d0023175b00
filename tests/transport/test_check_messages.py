"""``run_check`` answers in one clean sentence: the agency once, then the error's own words."""

from __future__ import annotations

import pytest

from mpp_bus.errors import AuthError, FatalError, RetriableError
from mpp_bus.transport import run_check


@pytest.mark.parametrize("error", [RetriableError, AuthError, FatalError])
def test_a_failed_check_has_no_double_space_and_no_markup_like_prefix(error):
    def probe() -> None:
        raise error("GET /v2: cannot connect to the agency", agency="djp", stream="catalog")

    message = run_check("djp", probe).message
    assert "  " not in message and "[agency=" not in message, message
    assert message.startswith("djp: ") and message.endswith("GET /v2: cannot connect to the agency"), message
