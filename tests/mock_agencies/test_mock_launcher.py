from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import requests

from mock_agencies import MockAgencies

if TYPE_CHECKING:
    from tests.mock_agencies.conftest import Admin


def test_one_seed_gives_the_same_data_across_starts(mocks: MockAgencies, admin: Admin) -> None:
    with MockAgencies(seed=mocks.seed, citizens=mocks.citizens, applications=mocks.applications) as again:
        for agency, dataset in [("dukcapil", "dukcapil"), ("licensing", "dpmptsp-3314"), ("tax", "tax")]:
            other = requests.get(f"{again.urls[agency]}/admin/truth", params={"dataset": dataset},
                                 headers={"X-Admin-Token": "mock-admin"}, timeout=10).json()
            mine = admin.truth(agency, dataset)
            # another test may have advanced records in the shared servers: compare what is untouched
            assert other["records"][:50] == mine["records"][:50]
        assert requests.get(f"{again.urls['dukcapil']}/admin/citizens", params={"limit": 20},
                            headers={"X-Admin-Token": "mock-admin"}, timeout=5).json()["citizens"] == \
            admin.citizens(0, 20)


def test_the_process_is_gone_after_the_block_and_faults_start_from_the_command_line() -> None:
    with MockAgencies(seed=3, citizens=20, applications=10, faults={"tax": "maintenance"}) as mocks:
        pid = mocks.pid
        assert pid is not None
        assert requests.get(f"{mocks.urls['tax']}/v2/layanan", headers={"X-DJP-Key": "djp-rahasia"},
                            timeout=5).status_code == 503
    assert mocks.returncode == 0  # stopped by SIGTERM, cleanly
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{mocks.urls['tax']}/health", timeout=1)


def test_the_command_line_refuses_an_unknown_fault_profile() -> None:
    result = subprocess.run([sys.executable, "-m", "mock_agencies", "serve", "--faults", "tax=chaos"],
                            capture_output=True, text=True, timeout=30,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 2 and "unknown profile" in result.stderr
