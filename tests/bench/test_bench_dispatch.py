"""A small run of ``mpp-bus bench --dispatch --json``: the figures have the promised shape and the counts add up.

Never a timing assertion: speed is shown by the benchmark itself, not by a test.
"""

from __future__ import annotations

import json

import pytest

from mpp_bus.cli import main

SUBMISSIONS = 9
AGENCY_KEYS = {"agency_id", "adapter", "delivered", "not_delivered", "seconds", "submissions_per_s",
               "latency_p50_s", "latency_p95_s"}


def test_bench_dispatch_reports_throughput_and_latency_per_agency_and_overall(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "--dispatch", "--submissions", str(SUBMISSIONS), "--stores", "sqlite", "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out)

    assert figures["submissions"] == SUBMISSIONS
    [result] = figures["results"]
    assert result["store"] == "sqlite"
    assert result["delivered"] == SUBMISSIONS
    assert {a["adapter"] for a in result["agencies"]} == {"licensing", "tax", "dukcapil"}
    for agency in result["agencies"]:
        assert set(agency) == AGENCY_KEYS
        assert (agency["delivered"], agency["not_delivered"]) == (SUBMISSIONS // 3, 0)
        assert 0 <= agency["latency_p50_s"] <= agency["latency_p95_s"]
        assert agency["submissions_per_s"] > 0
    assert sum(a["delivered"] for a in result["agencies"]) == result["delivered"]
    assert 0 <= result["latency_p50_s"] <= result["latency_p95_s"]
    assert result["submissions_per_s"] > 0 and result["accepted_per_s"] > 0


def test_bench_dispatch_refuses_too_few_submissions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--dispatch", "--submissions", "2", "--stores", "sqlite"]) == 2
    assert "at least 3" in capsys.readouterr().err
