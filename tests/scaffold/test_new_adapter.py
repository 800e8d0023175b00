"""`mpp-bus new-adapter` makes a package that passes the conformance kit as generated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mpp_bus.cli import main
from mpp_bus.errors import ConfigError
from mpp_bus.scaffold import scaffold

ROOT = Path(__file__).resolve().parents[2]


def test_a_fresh_package_passes_its_own_tests(tmp_path):
    assert main(["new-adapter", "kantor_desa", "--dest", str(tmp_path), "--title", "Sistem Desa"]) == 0
    root = tmp_path / "mpp-adapter-kantor-desa"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pytest", str(root), "-q", "-p", "no:cacheprovider"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "passed" in done.stdout and "failed" not in done.stdout


def test_the_package_declares_its_entry_point_and_records_no_secret(tmp_path):
    made = scaffold("sipandu", tmp_path)
    project = tomllib.loads((made.root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["mpp_bus.adapters"] == {"sipandu": made.entry_point}
    recorded = (made.root / "tests" / "recorded" / "sipandu.json").read_text()
    assert "example-key" not in recorded
    assert json.loads(recorded)["adapter"] == "sipandu"


def test_bad_names_and_existing_folders_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="lowercase"):
        scaffold("Bad-Name", tmp_path)
    scaffold("desa", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        scaffold("desa", tmp_path)


def test_the_generated_code_passes_the_repository_ruff_config(tmp_path):
    made = scaffold("kantor_desa", tmp_path)
    for config in ([], ["--config", str(ROOT / "pyproject.toml")]):
        done = subprocess.run([sys.executable, "-m", "ruff", "check", *config, "--no-cache", str(made.root)],
                              cwd=made.root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"ruff {' '.join(config)}: {done.stdout[-3000:]}"


def test_installing_the_package_leaves_no_build_output_in_its_source(tmp_path):
    made = scaffold("kantor_desa", tmp_path / "src")
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(made.root)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (target / made.package / "adapter.py").is_file() and (target / made.package / "statuses.yaml").is_file()
    left = sorted(p.name for p in made.root.iterdir() if p.name == "build" or p.name.endswith(".egg-info"))
    assert left == [], f"an install left {left} in the package's source"
