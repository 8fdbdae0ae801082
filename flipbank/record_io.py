"""Exact JSONL and Parquet round trips for lists of pydantic records, written atomically (a
temporary file in the same folder, then `os.replace`); read errors are `RecordError`s."""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Sequence
from enum import Enum
from inspect import isclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from flipbank.atomic_folder import atomic_path
from flipbank.errors import RecordError, error_from_validation
from flipbank.text_files import read_utf8

RecordT = TypeVar("RecordT", bound=BaseModel)


def _check_types(records: Sequence[BaseModel], model: type[BaseModel]) -> None:
    for index, record in enumerate(records):
        if not isinstance(record, model):
            raise TypeError(f"record {index} is a {type(record).__name__}, not a {model.__name__}")


def write_jsonl(path: str | Path, records: Sequence[BaseModel], model: type[BaseModel]) -> Path:
    """Writes one JSON object per line (NaN/inf as the strings "NaN"/"Infinity")."""
    _check_types(records, model)
    target = Path(path)
    with atomic_path(target) as temporary, temporary.open("w", encoding="utf-8") as stream:
        for record in records:
            stream.write(record.model_dump_json() + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    return target


def read_jsonl(path: str | Path, model: type[RecordT]) -> list[RecordT]:
    """Reads records written by `write_jsonl`; blank lines are allowed and ignored. Only "\\n"
    ends a line, so U+2028 inside a JSON string is safe."""
    source = Path(path)
    text = read_utf8(source, allow_empty=True)
    records: list[RecordT] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(model.model_validate_json(line))
        except ValidationError as error:
            if error.errors()[0]["type"] == "json_invalid":
                raise RecordError(str(source), f"line {number}", None, "malformed JSON") from error
            raise error_from_validation(str(source), f"line {number}", error) from error
    return records


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _union_arrow_type(annotation: Any) -> pa.DataType:
    members = [member for member in get_args(annotation) if member is not type(None)]
    if len(members) != 1:
        raise TypeError(f"no Arrow type for the union {annotation!r}")
    return arrow_type(members[0])


def _class_arrow_type(annotation: type) -> pa.DataType:
    scalar_types: list[tuple[type, Callable[[], pa.DataType]]] = [
        (bool, pa.bool_),  # before int: bool is an int subclass
        (int, pa.int64),
        (float, pa.float64),
        (str, pa.string),  # also covers str enums
    ]
    if issubclass(annotation, BaseModel):
        return arrow_struct(annotation)
    for python_type, factory in scalar_types:
        if issubclass(annotation, python_type):
            return factory()
    raise TypeError(f"no Arrow type for {annotation!r}")


def arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of a record field annotation (str, int, float, bool, Literal of str, str
    enums, optional types, lists and nested records)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return arrow_type(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return _union_arrow_type(annotation)
    if origin is Literal:
        if all(isinstance(member, str) for member in get_args(annotation)):
            return pa.string()
        raise TypeError(f"no Arrow type for {annotation!r}")
    if origin is list:
        return pa.list_(arrow_type(get_args(annotation)[0]))
    if isclass(annotation):
        return _class_arrow_type(annotation)
    raise TypeError(f"no Arrow type for {annotation!r}")


def arrow_struct(model: type[BaseModel]) -> pa.StructType:
    return pa.struct(arrow_schema(model))


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    """The Arrow schema of a record class: one nullable column per field, in declaration order."""
    return pa.schema(
        [pa.field(name, arrow_type(info.annotation)) for name, info in model.model_fields.items()]
    )


def records_to_table(records: Sequence[BaseModel], model: type[BaseModel]) -> pa.Table:
    _check_types(records, model)
    rows = [_plain(record.model_dump(mode="python")) for record in records]
    return pa.Table.from_pylist(rows, schema=arrow_schema(model))


def records_to_frame(records: Sequence[BaseModel], model: type[BaseModel]) -> pd.DataFrame:
    """A DataFrame with one column per field (enums as their string values), e.g. mining rows for
    the metrics; an empty list gives the columns with no rows."""
    return records_to_table(records, model).to_pandas()


def write_parquet(path: str | Path, records: Sequence[BaseModel], model: type[BaseModel]) -> Path:
    """Writes the records as one Parquet table whose schema comes from `model`."""
    target = Path(path)
    table = records_to_table(records, model)
    with atomic_path(target) as temporary:
        pq.write_table(table, temporary)
    return target


def read_parquet(path: str | Path, model: type[RecordT]) -> list[RecordT]:
    """Reads records written by `write_parquet` (row numbers in errors count from 1)."""
    source = Path(path)
    try:
        rows = pq.read_table(source).to_pylist()
    except (pa.ArrowException, OSError) as error:
        raise RecordError(str(source), "whole file", None, f"unreadable Parquet: {error}") from error
    records: list[RecordT] = []
    for number, row in enumerate(rows, start=1):
        try:
            records.append(model.model_validate(row))
        except ValidationError as error:
            raise error_from_validation(str(source), f"row {number}", error) from error
    return records
