"""The two distributions of this repository: a lean bus and the mock agencies beside it.

Installing the bus must not bring the mock agencies, spyne or pytest (pytest only through the ``testing`` and ``dev``
extras); the mock agencies' wheel carries its region data. Wheels are built from a copy of the sources in a temp dir,
so no ``build/`` or ``*.egg-info`` is left in the tree.
"""

from __future__ import annotations

import email.parser
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", "var", "*.pyc")
# Distribution -> the module it is imported as, where they differ.
IMPORT_NAMES = {"pyyaml": "yaml", "pydantic-settings": "pydantic_settings", "pydantic-core": "pydantic_core",
                "typing-extensions": "typing_extensions"}
# Declared but reached without an import statement.
USED_WITHOUT_IMPORT = {"psycopg": "SQLAlchemy's postgresql+psycopg dialect loads it from the store URL"}


def _wheel(source: Path, out: Path) -> zipfile.ZipFile:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.parser.Parser().parsestr(wheel.read(name).decode())


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def bus_wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("bus") / "src"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    return _wheel(src, tmp_path_factory.mktemp("bus-wheel"))


@pytest.fixture(scope="module")
def mocks_wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("mocks") / "mock_agencies"
    shutil.copytree(ROOT / "mock_agencies", src, ignore=IGNORED)
    return _wheel(src, tmp_path_factory.mktemp("mocks-wheel"))


def test_the_bus_wheel_ships_no_mock_agencies(bus_wheel: zipfile.ZipFile) -> None:
    names = bus_wheel.namelist()
    assert [n for n in names if n.startswith("mock_agencies/")] == []
    assert "mpp_bus/__init__.py" in names and "adapters/licensing/adapter.py" in names


def test_the_bus_requires_neither_spyne_nor_pytest(bus_wheel: zipfile.ZipFile) -> None:
    requires = _metadata(bus_wheel).get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    assert {_requirement_name(r) for r in core}.isdisjoint({"spyne", "pytest", "defusedxml"}), core
    assert not [r for r in requires if _requirement_name(r) == "spyne"]
    pytest_extras = {extra for r in requires if _requirement_name(r) == "pytest"
                     for extra in re.findall(r'extra == "(\w+)"', r)}
    assert pytest_extras == {"testing", "dev"}


def test_the_mock_agencies_wheel_carries_its_code_and_data(mocks_wheel: zipfile.ZipFile) -> None:
    names = set(mocks_wheel.namelist())
    for needed in ("mock_agencies/__init__.py", "mock_agencies/__main__.py", "mock_agencies/dukcapil.py",
                   "mock_agencies/data/idn-area/regencies.csv", "mock_agencies/data/idn-area/LICENSE.md",
                   "mock_agencies/data/idn-area/SOURCE.md"):
        assert needed in names
    assert not [n for n in names if n.startswith(("mpp_bus/", "adapters/", "tests/"))]
    requires = {_requirement_name(r) for r in _metadata(mocks_wheel).get_all("Requires-Dist") or []}
    assert "spyne" in requires and "pytest" not in requires


def _imported_modules(*folders: str) -> set[str]:
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
    return {m for folder in folders for path in (ROOT / folder).rglob("*.py")
            for m in pattern.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize(("pyproject", "folders"), [
    ("pyproject.toml", ("mpp_bus", "adapters")),
    ("mock_agencies/pyproject.toml", ("mock_agencies",)),
])
def test_every_core_dependency_is_imported(pyproject: str, folders: tuple[str, ...]) -> None:
    declared = tomllib.loads((ROOT / pyproject).read_text(encoding="utf-8"))["project"]["dependencies"]
    imported = _imported_modules(*folders)
    unused = [r for r in declared if _requirement_name(r) not in USED_WITHOUT_IMPORT
              and IMPORT_NAMES.get(_requirement_name(r), _requirement_name(r)) not in imported]
    assert unused == []


def test_the_bus_imports_nothing_from_the_mock_agencies() -> None:
    # The modules that start and drive the mock agencies (demo, benchmark) do it across a process boundary.
    code = ("import sys, mpp_bus.cli, mpp_bus.cli.demo, mpp_bus.bench.runner, mpp_bus.bench.child, mpp_bus.mocks; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mock_agencies'))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT / "tests")
    assert out.stdout.strip() == "[]"
