"""The layers of the house, checked by import-linter: the contracts in pyproject.toml hold, and an arrow added the
wrong way fails them (proved on a copy of the tree with deliberately wrong imports)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mpp_bus

ROOT = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = ("mpp_bus", "adapters", "mock_agencies", "dags")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the venv's lint-imports on the pyproject.toml in ``cwd``; it imports the root packages from ``cwd``."""
    executable = Path(sys.executable).with_name("lint-imports")
    if not executable.exists():
        pytest.fail("lint-imports is missing: install the dev extra (pip install -e '.[dev]')")
    return subprocess.run([str(executable), "--no-cache", "--no-logo"], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def test_the_layer_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, f"an import runs the wrong way:\n{result.stdout}\n{result.stderr}"


def test_only_the_store_may_import_sqlalchemy_and_no_package_is_left_out() -> None:
    # A forbidden contract cannot say "everyone but the store", so it lists the others; a new package that is not
    # listed would escape it.
    top_level = {f"mpp_bus.{p.stem}" for p in Path(mpp_bus.__file__).parent.iterdir()
                 if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    sql = contracts()["one-room-speaks-sql"]
    assert top_level - {"mpp_bus.store"} <= set(sql["source_modules"]), "add the new package to one-room-speaks-sql"
    assert {"adapters", "mock_agencies", "dags"} <= set(sql["source_modules"])
    assert set(sql["forbidden_modules"]) >= {"sqlalchemy", "alembic"}


@pytest.fixture(scope="module")
def wrong_tree(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """A copy of the tree with one wrong import per kind of contract, linted once."""
    tree = tmp_path_factory.mktemp("tree")
    for package in ROOT_PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    wrong = {
        "mpp_bus/store/wrong_way.py": "from mpp_bus.engine import SyncEngine\n",
        "adapters/wrong_way.py": "from mpp_bus.store import Store\n",
        "mpp_bus/api/wrong_way.py": "import sqlalchemy\n",
        "mock_agencies/wrong_way.py": "from mpp_bus.privacy import mask\n",
        "mpp_bus/transport/wrong_way.py": "from mock_agencies import MockAgencies\n",
        "dags/wrong_way.py": "from mpp_bus.engine import SyncEngine\n",
    }
    for path, source in wrong.items():
        (tree / path).write_text(f'"""Deliberately wrong."""\n\n{source}', encoding="utf-8")
    return lint_imports(tree)


@pytest.mark.parametrize(("contract", "arrow"), [
    ("layers", "mpp_bus.store.wrong_way -> mpp_bus.engine"),
    ("sdk-below-engine", "adapters.wrong_way -> mpp_bus.store"),
    ("one-room-speaks-sql", "mpp_bus.api.wrong_way -> sqlalchemy"),
    ("mocks-share-nothing", "mock_agencies.wrong_way -> mpp_bus.privacy"),
    ("bus-without-mocks", "mpp_bus.transport.wrong_way -> mock_agencies"),
    ("dags-thin", "dags.wrong_way -> mpp_bus.engine"),
])
def test_a_wrong_import_fails_the_contracts(wrong_tree: subprocess.CompletedProcess[str], contract: str,
                                            arrow: str) -> None:
    report = wrong_tree.stdout
    assert wrong_tree.returncode == 1, f"{wrong_tree.stdout}\n{wrong_tree.stderr}"
    # The report names the contract broken and the very import that broke it (from the copy, not the real tree).
    # It wraps long names at any column, so they are compared without whitespace.
    name = "".join(contracts()[contract]["name"].split())
    broken = "".join(report.split("Broken contracts", 1)[-1].split())
    assert name in broken, report
    assert arrow in report, report
