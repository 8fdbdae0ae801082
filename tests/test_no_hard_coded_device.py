"""Source checks for rules that no unit test of behaviour can catch."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("interp", "flipbank", "saes", "experiments")


def _source_files() -> list[Path]:
    return [path for package in SOURCE_PACKAGES for path in (ROOT / package).rglob("*.py")]


def test_only_placement_names_the_cuda_device() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _source_files()
        if re.search(r"[\"']cuda(:\d+)?[\"']", path.read_text()) and path.name != "placement.py"
    ]
    assert offenders == []


def test_no_unsafe_torch_load() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _source_files()
        for line in path.read_text().splitlines()
        if "torch.load(" in line and "weights_only=True" not in line
    ]
    assert offenders == []
