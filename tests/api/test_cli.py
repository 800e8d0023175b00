"""``mpp-bus api``: the OpenAPI check and development tokens."""

from __future__ import annotations

import argparse

import pytest

from mpp_bus.api import TokenVerifier
from mpp_bus.api.settings import ApiSettings
from mpp_bus.cli.api import register
from mpp_bus.privacy import NikHasher
from tests.api.seed import JWT_SECRET, SITI


def run(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--agencies")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.run(args)


def test_openapi_write_then_check(tmp_path):
    target = tmp_path / "openapi.json"
    assert run(["api", "openapi", "check", "--file", str(target)]) == 1
    assert run(["api", "openapi", "write", "--file", str(target)]) == 0
    assert run(["api", "openapi", "check", "--file", str(target)]) == 0
    target.write_text(target.read_text().replace("mpp-bus portal API", "drifted"))
    assert run(["api", "openapi", "check", "--file", str(target)]) == 1


def test_token_mints_a_development_token(monkeypatch, capsys):
    monkeypatch.setenv("MPP_API_JWT_SECRET", JWT_SECRET)
    assert run(["api", "token", "--subject", "siti", "--nik", SITI, "--role", "admin"]) == 0
    token = capsys.readouterr().out.strip()
    who = TokenVerifier(ApiSettings(), "development", NikHasher(b"k" * 32)).principal(token)
    assert who.subject == "siti" and who.roles == {"admin"} and who.nik_masked == "33************01"
    assert run(["api", "token", "--subject", "x", "--nik", "1234"]) == 1


def test_token_is_refused_in_production(monkeypatch):
    from mpp_bus.errors import ConfigError

    monkeypatch.setenv("MPP_ENVIRONMENT", "production")
    with pytest.raises(ConfigError, match="development only"):
        run(["api", "token", "--subject", "x"])
