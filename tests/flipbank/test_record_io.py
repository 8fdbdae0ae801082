"""Tests of the JSONL and Parquet round trips and atomic writes."""

import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flipbank.errors import RecordError
from flipbank.mining_frame import MINING_COLUMNS
from flipbank.record_io import (
    arrow_schema,
    read_jsonl,
    read_parquet,
    records_to_frame,
    write_jsonl,
    write_parquet,
)
from flipbank.records import FlipCase, MiningRow, Paraphrase, Phenomenon, QuestionRecord
from tests.flipbank.builders import mining_row


def questions() -> list[QuestionRecord]:
    return [
        QuestionRecord(
            question_id=f"q-{index}",
            question_type="presence",
            answer="yes" if index % 2 else "no",
            image=f"images/{index}.png",
            finding=None if index == 2 else "pleural effusion",
            original_question=f"Is there an effusion {index}?\u2028(line separator inside)",
            paraphrases=[
                Paraphrase(text="Any effusion here — ünïcode?", phenomenon=Phenomenon.SPECIFICITY_MODULATION),
                Paraphrase(text="Isn't there an effusion?", phenomenon=Phenomenon.NEGATION_PATTERN),
            ],
            source="test",
        )
        for index in range(3)
    ]


def mining_rows() -> list[MiningRow]:
    return [
        MiningRow.model_validate(mining_row("q-1", 0, "yes", margin=1.25)),
        MiningRow.model_validate(mining_row("q-1", 1, None, condition="none", margin=None)),
        MiningRow.model_validate(mining_row("q-2", 0, "no", condition="blank", margin=-3.5e-9)),
    ]


def flip_cases() -> list[FlipCase]:
    return [
        FlipCase(
            question_id="q-1",
            image="images/1.png",
            finding=None,
            original_question="Is there an effusion?",
            paraphrase="Any effusion?",
            phenomenon=Phenomenon.SPECIFICITY_MODULATION,
            original_answer="no",
            paraphrase_answer="yes",
            original_margin=-0.1,
            paraphrase_margin=0.2,
            direction="no_to_yes",
            similarity=0.96,
        )
    ]


def same_records(left, right) -> bool:
    """Equality that treats NaN as equal to NaN (pydantic's == does not)."""

    def normal(value):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        if isinstance(value, dict):
            return {key: normal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [normal(item) for item in value]
        return value

    dumps = [[normal(record.model_dump()) for record in side] for side in (left, right)]
    types = [[type(record) for record in side] for side in (left, right)]
    return dumps[0] == dumps[1] and types[0] == types[1]


CASES = [(QuestionRecord, questions), (MiningRow, mining_rows), (FlipCase, flip_cases)]


@pytest.mark.parametrize(("model", "make"), CASES)
def test_jsonl_round_trip_is_exact(tmp_path, model, make):
    records = make()
    path = write_jsonl(tmp_path / "records.jsonl", records, model)
    back = read_jsonl(path, model)
    assert same_records(records, back)
    if model is not MiningRow:
        assert back == records


@pytest.mark.parametrize(("model", "make"), CASES)
def test_parquet_round_trip_is_exact(tmp_path, model, make):
    records = make()
    path = write_parquet(tmp_path / "sub" / "records.parquet", records, model)
    assert same_records(records, read_parquet(path, model))


def test_nan_scores_survive_both_formats(tmp_path):
    rows = mining_rows()
    for back in (
        read_jsonl(write_jsonl(tmp_path / "r.jsonl", rows, MiningRow), MiningRow),
        read_parquet(write_parquet(tmp_path / "r.parquet", rows, MiningRow), MiningRow),
    ):
        assert math.isnan(back[1].margin) and not back[1].scores_available
        assert back[2].margin == -3.5e-9


@pytest.mark.parametrize("model", [QuestionRecord, MiningRow, FlipCase])
def test_empty_lists_round_trip(tmp_path, model):
    assert read_jsonl(write_jsonl(tmp_path / "e.jsonl", [], model), model) == []
    assert read_parquet(write_parquet(tmp_path / "e.parquet", [], model), model) == []


def test_arrow_schema_follows_the_model():
    schema = arrow_schema(QuestionRecord)
    assert schema.names == list(QuestionRecord.model_fields)
    assert schema.field("finding").type == pa.string()
    assert schema.field("paraphrases").type == pa.list_(
        pa.struct([("text", pa.string()), ("phenomenon", pa.string())])
    )
    mining = arrow_schema(MiningRow)
    assert mining.field("variant_index").type == pa.int64()
    assert mining.field("margin").type == pa.float64()
    assert mining.field("scores_available").type == pa.bool_()


def test_records_to_frame_has_the_mining_columns_even_when_empty():
    empty = records_to_frame([], MiningRow)
    assert tuple(empty.columns) == MINING_COLUMNS
    assert len(empty) == 0
    full = records_to_frame(mining_rows(), MiningRow)
    assert pd.isna(full["phenomenon"].iloc[0])
    assert full["phenomenon"].iloc[1] == "lexical_substitution"
    assert pd.isna(full["margin"].iloc[1])
    assert full["variant_index"].tolist() == [0, 1, 0]


def test_writing_the_wrong_record_type_is_refused(tmp_path):
    with pytest.raises(TypeError, match="not a MiningRow"):
        write_jsonl(tmp_path / "x.jsonl", questions(), MiningRow)
    assert not (tmp_path / "x.jsonl").exists()


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "records.jsonl"
    target.write_text("old\n", encoding="utf-8")
    write_jsonl(target, questions(), QuestionRecord)
    assert len(read_jsonl(target, QuestionRecord)) == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["records.jsonl"]


def test_read_jsonl_names_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [record.model_dump_json() for record in questions()]
    lines[1] = lines[1].replace('"answer":"yes"', '"answer":"perhaps"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        read_jsonl(path, QuestionRecord)
    message = str(caught.value)
    assert str(path) in message and "line 2" in message and "field 'answer'" in message


def test_read_jsonl_reports_malformed_json_and_bad_bytes(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(questions()[0].model_dump_json() + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(RecordError, match="line 3: malformed JSON"):
        read_jsonl(path, QuestionRecord)
    path.write_bytes(b'{"a": 1}\n{"b": "\xff"}\n')
    with pytest.raises(RecordError, match="line 2, column 8: not UTF-8"):
        read_jsonl(path, QuestionRecord)


def test_read_parquet_names_the_row(tmp_path):
    path = tmp_path / "rows.parquet"
    table = pa.Table.from_pylist(
        [mining_row("q", 0, "yes"), {**mining_row("q", 1, "no"), "parsed_answer": "perhaps"}]
    )
    pq.write_table(table, path)
    with pytest.raises(RecordError, match=r"row 2, field 'parsed_answer'"):
        read_parquet(path, MiningRow)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(RecordError, match="unreadable Parquet"):
        read_parquet(tmp_path / "junk.parquet", MiningRow)
