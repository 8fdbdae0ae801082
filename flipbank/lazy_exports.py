"""A package's public names imported on first use (PEP 562 ``__getattr__``), so that ``import interp`` stays
light and ``from interp import load_model`` still works.

>>> get = lazy_exports("interp", {"PromptInput": "interp.prompts"})
>>> get("PromptInput").__name__
'PromptInput'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) and returns its ``name``."""

    def attribute(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name]), name)

    return attribute
