"""Study files: a study as a TOML file (model, prompt style, questions, image conditions, SAE, feature,
subsets, seed), read into a `StudyConfig` with every key checked, overridden from the command line with
``--set key=value``, and written back resolved into the run folder.

>>> text = 'name = "mine"\\nimage_conditions = ["real", "none"]\\n[model]\\nspec = "tiny-mm"\\n'
>>> config = study_from_text(text, "mine.toml", overrides=["model.batch_size=4", "seed=7"])
>>> config.model.spec, config.model.batch_size, config.seed
('tiny-mm', 4, 7)
>>> study_from_text(text, "mine.toml", overrides=["model.size=4"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
experiments.study_file.StudyFileError: mine.toml: unknown key model.size (keys of model: spec, device, ...)
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from experiments.study_config import StudyConfig

SHIPPED_STUDIES = Path(__file__).parent / "studies"
RESOLVED_FILE = "study.toml"
Table = dict[str, Any]


class StudyFileError(ValueError):
    """A study file (or an override of it) that does not describe a study; the message names the file and
    the key."""


def shipped_study(name: str) -> Path:
    """The shipped study file of a preset name (``demo``, ``tiny``, ``medgemma-4b``)."""
    names = sorted(path.stem for path in SHIPPED_STUDIES.glob("*.toml"))
    if name not in names:
        choices = ", ".join(names)
        raise StudyFileError(f"unknown preset {name!r}; choose one of {choices} or pass a study file")
    return SHIPPED_STUDIES / f"{name}.toml"


def read_study_file(path: Path, overrides: Sequence[str] = ()) -> StudyConfig:
    """The study of the TOML file at ``path`` with ``overrides`` (``key.sub=value``, the value in TOML
    syntax, a bare word taken as a string, nothing after ``=`` meaning unset)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StudyFileError(f"{path}: cannot read the study file ({error.strerror})") from error
    return study_from_text(text, str(path), overrides)


def study_from_text(text: str, source: str, overrides: Sequence[str] = ()) -> StudyConfig:
    """The study that ``text`` (TOML, read from ``source``) describes, with ``overrides`` applied."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StudyFileError(f"{source}: not valid TOML: {error}") from error
    for override in overrides:
        _apply_override(data, override, source)
    return study_from_mapping(data, source)


def study_from_mapping(data: Mapping[str, Any], source: str) -> StudyConfig:
    """Validate ``data`` (nested tables) into a `StudyConfig`: unknown keys, wrong types and values out of
    range are errors naming the key."""
    _check_keys(StudyConfig, data, source, "")
    try:
        return TypeAdapter(StudyConfig).validate_python(dict(data))
    except ValidationError as error:
        raise StudyFileError(f"{source}: " + "; ".join(_describe(e) for e in error.errors())) from error


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _table_type(hint: object) -> tuple[type | None, bool]:
    """The dataclass a field holds (through ``X | None``), and whether it holds a tuple of them."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint, False
    arguments = [a for a in typing.get_args(hint) if a is not type(None) and a is not Ellipsis]
    if typing.get_origin(hint) is tuple and len(arguments) == 1:
        inner, _ = _table_type(arguments[0])
        return inner, inner is not None
    if len(arguments) == 1:
        return _table_type(arguments[0])
    return None, False


def _check_keys(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> None:
    names = [field.name for field in dataclasses.fields(cls)]
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        if key not in names:
            table = prefix.rstrip(".") or "a study"
            raise StudyFileError(f"{source}: unknown key {prefix}{key} (keys of {table}: {', '.join(names)})")
        nested, many = _table_type(hints[key])
        if nested is None:
            continue
        if many and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    _check_keys(nested, item, source, f"{prefix}{key}.{index}.")
        elif isinstance(value, Mapping):
            _check_keys(nested, value, source, f"{prefix}{key}.")


def _apply_override(data: Table, override: str, source: str) -> None:
    key, equals, text = override.partition("=")
    if not equals or not key.strip():
        raise StudyFileError(f"--set {override!r}: expected key=value (e.g. model.batch_size=8)")
    *tables, name = key.strip().split(".")
    target = data
    for table in tables:
        target = target.setdefault(table, {})
        if not isinstance(target, dict):
            raise StudyFileError(f"{source}: --set {key.strip()}: {table} is a value, not a table")
    if not text.strip():
        target.pop(name, None)
        return
    target[name] = _override_value(text.strip())


def _override_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def study_toml(config: StudyConfig) -> str:
    """``config`` as a study file (unset values left out), which `study_from_text` reads back equal."""
    lines: list[str] = []
    _write_table(TypeAdapter(StudyConfig).dump_python(config, mode="json"), "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _write_table(table: Mapping[str, Any], path: str, lines: list[str]) -> None:
    """Scalars first, then sub-tables (``[path.key]``), then arrays of tables (``[[path.key]]``)."""
    lines += _toml_lines(
        {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_list(v)}
    )
    for key, value in table.items():
        name = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            lines += ["", f"[{name}]"]
            _write_table(value, name, lines)
    for key, value in table.items():
        name = f"{path}.{key}" if path else key
        if _is_table_list(value):
            for item in value:
                lines += ["", f"[[{name}]]"]
                _write_table(item, name, lines)


def _toml_lines(table: Mapping[str, Any]) -> list[str]:
    return [f"{key} = {_toml_value(value)}" for key, value in table.items() if value is not None]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    return repr(value)
