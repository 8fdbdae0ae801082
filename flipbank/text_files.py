"""Reading input files as strict UTF-8 text and JSON, turning empty files, undecodable bytes and
malformed JSON into `RecordError`s that name the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

from flipbank.errors import RecordError


def read_utf8(path: Path, *, allow_empty: bool = False) -> str:
    """The file's text (a leading BOM is dropped). A zero-byte file is an error unless
    `allow_empty`; a byte sequence that is not UTF-8 is reported with its line and column."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(str(path), "whole file", None, f"cannot read: {error}") from error
    if not data and not allow_empty:
        raise RecordError(str(path), "whole file", None, "file is empty (zero bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        location = f"line {line}, column {column}"
        reason = f"not UTF-8 text (byte 0x{data[error.start]:02x})"
        raise RecordError(str(path), location, None, reason) from error


def parse_json(path: Path, text: str) -> object:
    """The JSON document in `text`; a syntax error is reported with its line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        location = f"line {error.lineno}, column {error.colno}"
        raise RecordError(str(path), location, None, f"malformed JSON: {error.msg}") from error
    except RecursionError as error:
        raise RecordError(str(path), "whole file", None, "JSON nested too deeply") from error
