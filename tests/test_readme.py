"""The README's quick start runs as written, and the packages' front doors export what they list."""

import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _quick_start() -> str:
    section = README.read_text().split("## Quick start (Python)", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the quick start has no python block"
    return match.group(1)


@pytest.mark.parametrize("package", ["flipbank", "interp", "saes"])
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        module.nope  # noqa: B018 (the attribute access is the test)


def test_the_quick_start_runs_as_written() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_quick_start(), str(README), "exec"), {})
    margins, clamped = (
        line for line in printed.getvalue().splitlines() if line.startswith(("margins", "clamped"))
    )
    assert margins.startswith("margins [") and clamped.startswith("clamped [")
    assert margins != clamped  # clamping the feature moves the margins (a little)
