"""Rendering the templates of a new adapter package, and recording its fixture."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from mpp_bus.errors import ConfigError

TEMPLATES = Path(__file__).with_name("templates")
NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class Scaffold:
    """What was generated: the project folder, the package name and the adapter class."""

    root: Path
    name: str
    package: str
    class_name: str

    @property
    def entry_point(self) -> str:
        return f"{self.package}:{self.class_name}Adapter"


def _files(package: str, name: str) -> dict[str, str]:
    """template -> path in the new project"""
    return {
        "pyproject.toml.tmpl": "pyproject.toml",
        "README.md.tmpl": "README.md",
        "conftest.py.tmpl": "conftest.py",
        "init.py.tmpl": f"{package}/__init__.py",
        "adapter.py.tmpl": f"{package}/adapter.py",
        "statuses.yaml.tmpl": f"{package}/statuses.yaml",
        "vocabulary.yaml.tmpl": f"{package}/vocabulary.yaml",
        "test_conformance.py.tmpl": "tests/test_conformance.py",
        "build_backend.py.tmpl": "_build/build_backend.py",
    }


def scaffold(name: str, dest: Path, *, title: str | None = None, force: bool = False) -> Scaffold:
    """Write the package ``mpp-adapter-<name>`` under ``dest`` and record its fixture; returns what was made.

    Example::

        made = scaffold("sipandu", Path("."), title="SIPANDU Kabupaten Sragen")
        # then: cd mpp-adapter-sipandu && python -m pytest
    """
    if not NAME.match(name):
        raise ConfigError(f"adapter name {name!r}: use 2-40 lowercase letters, digits or _, starting with a letter")
    package = f"{name}_adapter"
    class_name = "".join(part.capitalize() for part in name.split("_"))
    root = dest / f"mpp-adapter-{name.replace('_', '-')}"
    if root.exists():
        if not force:
            raise ConfigError(f"{root} already exists; choose another name or pass --force to overwrite it")
        shutil.rmtree(root)
    values = {"name": name, "package": package, "Class": class_name, "title": title or f"The {name} agency system"}
    for template, target in _files(package, name).items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values),
                        encoding="utf-8")
    example = Path(__file__).with_name("example_agency.py").read_text(encoding="utf-8")
    (root / "tests" / "example_agency.py").write_text(example, encoding="utf-8")
    made = Scaffold(root, name, package, class_name)
    record_fixture(made)
    return made


def record_fixture(made: Scaffold) -> Path:
    """Record the example agency's responses to what the generated tests ask, as ``tests/recorded/<name>.json``."""
    try:
        from mpp_bus.scaffold import example_agency
        from mpp_bus.testing import FunctionTransport, record
        from mpp_bus.testing.conformance import RECORDED_URL
    except ModuleNotFoundError as exc:
        if exc.name != "pytest":
            raise
        # The kit is a pytest suite, an extra of the bus rather than something every installation carries.
        raise ConfigError("new-adapter records its example with the conformance kit, which needs pytest: "
                          "install mpp-bus with its `testing` extra") from exc

    target = made.root / "tests" / "recorded" / f"{made.name}.json"
    sys.path.insert(0, str(made.root))
    importlib.invalidate_caches()
    module_name = f"_mpp_scaffold_{made.package}_tests"
    try:
        spec = importlib.util.spec_from_file_location(module_name, made.root / "tests" / "test_conformance.py")
        assert spec is not None and spec.loader is not None
        tests = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tests)
        kit = getattr(tests, f"Test{made.class_name}Conformance")
        record(kit.build_for(RECORDED_URL), target, transport=FunctionTransport(example_agency.handle))
    finally:
        sys.path.remove(str(made.root))
        for loaded in [m for m in sys.modules if m == made.package or m.startswith(made.package + ".")]:
            del sys.modules[loaded]
    return target
