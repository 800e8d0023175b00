"""The README's adapter example is the real licensing adapter, not a sketch that drifts from it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _adapter_example() -> str:
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    match = re.search(r"opens like this.*?```python\n(.*?)```", readme, re.DOTALL)
    assert match, "the README's licensing adapter example is missing"
    return match[1]


def test_the_readme_adapter_example_is_the_licensing_adapter_as_written() -> None:
    source = ROOT.joinpath("adapters", "licensing", "adapter.py").read_text(encoding="utf-8")
    example = _adapter_example()
    header, _, methods = example.partition("\n    def ")
    assert header.strip() in source  # the config and the class header, verbatim
    for line in ("def " + methods).splitlines():
        signature = line.strip().removesuffix(" ...")
        if signature:
            assert f"    {signature}\n" in source, signature
