from __future__ import annotations

from pathlib import Path

import pytest

from mpp_bus.config import Settings, connection_from_env, load_agencies, parse_agencies, select
from mpp_bus.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_agencies_file_is_valid() -> None:
    instances = load_agencies(ROOT / "agencies.yaml")
    ids = {i.id for i in instances}
    assert {"dukcapil", "oss", "djp"} <= ids
    assert sum(1 for i in instances if i.adapter == "licensing" and i.level == "kabupaten_kota") >= 2
    assert all(i.connection_id.startswith("mpp_") for i in instances)


def test_defaults_merge_and_connection_id_is_derived() -> None:
    [one] = parse_agencies(
        {"defaults": {"page_size": 200}, "agencies": [{"id": "dpmptsp-3314", "adapter": "licensing",
                                                        "name": "DPMPTSP Sragen", "level": "kabupaten_kota"}]}
    )
    assert one.page_size == 200 and one.connection_id == "mpp_dpmptsp_3314"


def test_a_broken_config_names_the_agency_and_field() -> None:
    with pytest.raises(ConfigError) as info:
        parse_agencies({"agencies": [{"id": "x", "adapter": "tax", "name": "X", "level": "desa",
                                      "page_size": "secret-token-value"}]}, source="agencies.yaml")
    message = str(info.value)
    assert "agencies.yaml" in message and "agency x" in message
    assert "`level`" in message and "`page_size`" in message
    assert "secret-token-value" not in message


def test_duplicate_ids_and_unknown_ids_are_clear_errors() -> None:
    entry = {"id": "a", "adapter": "tax", "name": "A", "level": "pusat"}
    with pytest.raises(ConfigError, match="appears twice"):
        parse_agencies({"agencies": [entry, entry]})
    with pytest.raises(ConfigError, match="configured agencies: a"):
        select(parse_agencies({"agencies": [entry]}), ["b"])


def test_connection_from_env_json_and_uri_forms() -> None:
    env = {
        "AIRFLOW_CONN_MPP_TAX": '{"conn_type": "http", "password": "k3y", "extra": {"key_header": "X"}}',
        "AIRFLOW_CONN_MPP_OSS": "http://client%40id:s%2Fecret@host:8702/?scope=read",
    }
    tax = connection_from_env("mpp_tax", env)
    assert tax and tax["password"] == "k3y" and tax["extra"] == {"key_header": "X"}
    oss = connection_from_env("mpp_oss", env)
    assert oss and oss["login"] == "client@id" and oss["password"] == "s/ecret" and oss["port"] == 8702
    assert connection_from_env("mpp_none", env) is None


def test_nik_secret_is_required_in_production() -> None:
    for environment in ("production", "test"):
        with pytest.raises(ConfigError, match="MPP_NIK_HMAC_SECRET is required outside development"):
            Settings(environment=environment, nik_hmac_secret=None).nik_secret()
    assert Settings(environment="production", nik_hmac_secret="x" * 32).nik_secret() == b"x" * 32
    with pytest.warns(UserWarning, match="development key"):
        assert Settings(environment="development", nik_hmac_secret=None).nik_secret()
