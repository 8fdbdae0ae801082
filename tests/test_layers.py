"""The packages are layers and data flows one way: ``flipbank`` (records, metrics) imports no other package
of the workbench, ``interp`` (the model side) only ``flipbank``, ``saes`` only those two, and
``experiments`` any of them; importing ``flipbank`` loads neither torch nor the model side."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "flipbank": {"flipbank"},
    "interp": {"flipbank", "interp"},
    "saes": {"flipbank", "interp", "saes"},
    "experiments": {"flipbank", "interp", "saes", "experiments"},
}


def _workbench_imports(file: Path) -> set[str]:
    """The workbench packages ``file`` imports, anywhere in it (function bodies included)."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_module_imports_upward(package: str) -> None:
    upward = {
        str(file.relative_to(ROOT)): sorted(imported - ALLOWED[package])
        for file in sorted((ROOT / package).rglob("*.py"))
        if (imported := _workbench_imports(file)) - ALLOWED[package]
    }
    assert upward == {}


def test_importing_flipbank_loads_no_torch_and_no_model_side() -> None:
    modules = sorted(
        f"flipbank.{file.stem}" for file in (ROOT / "flipbank").glob("*.py") if file.stem != "__init__"
    )
    heavy = ("torch", "interp", "saes", "experiments", "transformers")
    script = (
        "import sys, importlib\n"
        f"for name in ['flipbank', *{modules!r}]: importlib.import_module(name)\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


#: experiments/ is rooms over a base (the study's configuration and run folder, its top-level modules):
#: steps compute, reporting draws what steps wrote, stand_ins build the demo VLM and the rehearsal model, and
#: commands (the command line, preflight and the runners) may use any of them.
ROOMS = {
    "": {""},
    "steps": {"", "steps"},
    "reporting": {"", "steps", "reporting"},
    "stand_ins": {"", "stand_ins"},
    "commands": {"", "steps", "reporting", "stand_ins", "commands"},
}


def _experiments_rooms(file: Path) -> set[str]:
    """The rooms of experiments/ that ``file`` imports ("" for the base modules)."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "experiments" and len(parts) > 1:
                found.add(parts[1] if parts[1] in ROOMS else "")
    return found


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_experiments_rooms_import_only_what_they_may(room: str) -> None:
    folder = ROOT / "experiments" / room
    files = sorted(folder.glob("*.py")) if room else sorted((ROOT / "experiments").glob("*.py"))
    assert files
    wrong = {
        str(file.relative_to(ROOT)): sorted(rooms - ROOMS[room])
        for file in files
        if (rooms := _experiments_rooms(file)) - ROOMS[room]
    }
    assert wrong == {}
