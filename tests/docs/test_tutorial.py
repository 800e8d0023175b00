"""Every code block of docs/tutorial.md runs: the console commands, the Python snippets, the entry point and the
agencies file."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mpp_bus.cli import main

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))


def test_the_tutorial_has_the_expected_blocks():
    assert [kind for kind, _ in blocks()] == ["console", "console", "python", "toml", "yaml", "python",
                                              "yaml", "python"]


def run_console(block: str, cwd: Path) -> Path:
    for line in block.strip().splitlines():
        command = line.removeprefix("$ ")
        for part in command.split(" && "):
            argv = shlex.split(part)
            if argv[0] == "cd":
                cwd = cwd / argv[1]
            elif argv[0] == "mpp-bus":
                old = Path.cwd()
                os.chdir(cwd)
                try:
                    assert main(argv[1:]) == 0
                finally:
                    os.chdir(old)
            elif argv[:3] == ["python", "-m", "pytest"]:
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
                done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=cwd,
                                      env=env, capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
                assert " passed" in done.stdout
            else:
                pytest.fail(f"the tutorial runs a command the test does not know: {part}")
    return cwd


def test_the_tutorial_end_to_end(tmp_path, monkeypatch, capsys):
    (kinds, codes) = zip(*blocks()[:6], strict=True)
    project = run_console(codes[0], tmp_path)
    project = run_console(codes[1], project)
    assert project == tmp_path / "mpp-adapter-sipandu"

    # the Python snippet, with the generated package importable as if installed
    monkeypatch.syspath_prepend(str(project))
    try:
        exec(compile(codes[2], "tutorial-step-3", "exec"), {})
        assert "36 applications, resume at" in capsys.readouterr().out
    finally:
        for name in [m for m in sys.modules if m.startswith("sipandu_adapter")]:
            del sys.modules[name]

    # the entry point shown is the one generated
    shown = tomllib.loads(codes[3])["project"]["entry-points"]["mpp_bus.adapters"]
    generated = tomllib.loads((project / "pyproject.toml").read_text())["project"]["entry-points"]["mpp_bus.adapters"]
    assert shown == generated == {"sipandu": "sipandu_adapter:SipanduAdapter"}

    # the agencies file parses, and the DAG factory lists the new agency
    (tmp_path / "agencies.yaml").write_text(codes[4], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    exec(compile(codes[5], "tutorial-step-5", "exec"), {})
    assert "['sync']" in capsys.readouterr().out  # one task per agency: check, then each stream


def test_chapter_two_the_xml_agency_by_spec_alone(monkeypatch, capsys):
    import yaml

    entry, snippet = (code for _, code in blocks()[6:])
    shipped = yaml.safe_load((ROOT / "agencies.yaml").read_text(encoding="utf-8"))["agencies"]
    assert yaml.safe_load(entry)[0] in shipped, "the entry shown is the one in agencies.yaml"
    monkeypatch.chdir(ROOT)
    exec(compile(snippet, "tutorial-chapter-2", "exec"), {})
    out = capsys.readouterr().out
    assert "80 applications in 4 pages" in out
