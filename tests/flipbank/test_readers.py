"""Tests of the MIMIC JSON and flip-bank CSV readers: valid input, every error, skip mode."""

import contextlib
import csv
import io
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flipbank.errors import RecordError
from flipbank.readers import CSV_COLUMNS, read_flipbank_csv, read_psf_mimic_json


def mimic_row(index: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "question_id": f"q-{index}",
        "question_type": "presence",
        "answer": "yes" if index % 2 else "no",
        "filename": f"p10/img_{index}.jpg",
        "original_question": "Is there a pleural effusion?",
        "paraphrases": [
            {"text": "Is there fluid around the lung?", "phenomenon": "lexical_substitution"},
            {"text": "Any effusion here?", "phenomenon": "specificity_modulation"},
        ],
    }
    row.update(changes)
    return {key: value for key, value in row.items() if value is not DROP}


DROP = object()


def write_mimic(folder: Path, rows: Sequence[object], name: str = "psf_mimic.json") -> Path:
    path = folder / name
    path.write_text(json.dumps({"results": rows}, indent=1), encoding="utf-8")
    return path


def csv_row(question: int, variant: int, **changes: str) -> dict[str, str]:
    row = {
        "question_id": f"c-{question}",
        "image_path": f"vindr/{question}.png",
        "ground_truth": "yes" if question % 2 else "no",
        "original_question": "Is there cardiomegaly?",
        "paraphrase": f"Is the heart enlarged (variant {variant})?",
        "phenomenon": "lexical_substitution",
    }
    row.update(changes)
    return row


def write_csv(folder: Path, rows: list[dict[str, str]], columns=CSV_COLUMNS) -> Path:
    path = folder / "flipbank.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def assert_names(error: RecordError, path: Path, location: str, field: str | None) -> None:
    message = str(error)
    assert message.startswith(f"{path}: {location}")
    if field is not None:
        assert f"field '{field}'" in message
        assert error.field == field


# ---- PSF-Med MIMIC JSON ----------------------------------------------------------------------


def test_mimic_reader_reads_valid_rows(tmp_path):
    rows = [
        mimic_row(1, answer=" Yes "),
        mimic_row(2, finding="Effusion"),
        mimic_row(3, question_id=17, original_question="Is the heart enlarged?"),
        mimic_row(4, original_question="What view is this?", finding=None),
    ]
    result = read_psf_mimic_json(write_mimic(tmp_path, rows))
    assert result.skipped == []
    first, second, third, fourth = result.records
    assert (first.question_id, first.answer, first.image) == ("q-1", "yes", "p10/img_1.jpg")
    assert first.finding == "pleural effusion"  # inferred from the question
    assert second.finding == "pleural effusion"  # given, canonicalised
    assert (third.question_id, third.finding) == ("17", "cardiomegaly")
    assert fourth.finding is None
    assert [p.phenomenon.value for p in first.paraphrases] == [
        "lexical_substitution",
        "specificity_modulation",
    ]
    assert {record.source for record in result.records} == {"psf-med-mimic"}


def test_mimic_reader_resolves_images_against_the_root(tmp_path):
    root = tmp_path / "images"
    (root / "p10").mkdir(parents=True)
    (root / "p10" / "img_1.jpg").write_bytes(b"jpg")
    path = write_mimic(tmp_path, [mimic_row(1)])
    record = read_psf_mimic_json(path, image_root=root).records[0]
    assert record.image == str(root / "p10" / "img_1.jpg")
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(write_mimic(tmp_path, [mimic_row(1), mimic_row(2)]), image_root=root)
    assert_names(caught.value, path, "row 2 (question_id 'q-2')", "filename")
    assert "image not found" in str(caught.value)


MIMIC_ERRORS = [
    ({"question_type": DROP}, "question_type", "missing field"),
    ({"answer": "left lower lobe"}, "answer", "non-yes/no ground-truth answer"),
    ({"answer": None}, "answer", "missing value"),
    ({"paraphrases": []}, "paraphrases", "empty paraphrase list"),
    ({"paraphrases": "Any effusion?"}, "paraphrases", "expected a list"),
    (
        {"paraphrases": [{"text": "Any effusion?", "phenomenon": "irony"}]},
        "paraphrases[0].phenomenon",
        "unknown phenomenon 'irony'",
    ),
    (
        {"paraphrases": [{"text": "ok?", "phenomenon": "negation_pattern"}, {"text": " "}]},
        "paraphrases[1].text",
        "empty text",
    ),
    ({"paraphrases": [["text"]]}, "paraphrases[0]", "expected an object"),
    ({"original_question": 12}, "original_question", "expected text"),
    ({"filename": ""}, "filename", "empty text"),
    ({"original_question": "\u200b\ufeff "}, "original_question", "invisible characters"),
    ({"finding": 3}, "finding", "expected text or null"),
]


@pytest.mark.parametrize(("changes", "field", "reason"), MIMIC_ERRORS)
def test_mimic_reader_errors_name_file_row_and_field(tmp_path, changes, field, reason):
    path = write_mimic(tmp_path, [mimic_row(1), mimic_row(2, **changes)])
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(path)
    assert_names(caught.value, path, "row 2 (question_id 'q-2')", field)
    assert reason in str(caught.value)


def test_mimic_reader_rejects_a_duplicate_question_id(tmp_path):
    path = write_mimic(tmp_path, [mimic_row(1), mimic_row(2), mimic_row(1)])
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(path)
    assert_names(caught.value, path, "row 3 (question_id 'q-1')", "question_id")
    assert "duplicate question_id (first at row 1" in str(caught.value)


def test_mimic_reader_rejects_a_row_that_is_not_an_object(tmp_path):
    path = write_mimic(tmp_path, [mimic_row(1), ["q-2"]])
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(path)
    assert_names(caught.value, path, "row 2", None)


def test_mimic_reader_reports_malformed_json_with_its_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"results": [\n  {"question_id": "q-1",\n   "answer": yes}\n]}\n')
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(path)
    assert str(caught.value).startswith(f"{path}: line 3, column")
    assert "malformed JSON" in str(caught.value)


def test_mimic_reader_reports_non_utf8_bytes_with_their_line(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"results": [\n{"original_question": "Épanchement?"}]}'.encode("latin-1"))
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(path)
    assert str(caught.value).startswith(f"{path}: line 2, column 24: not UTF-8")


def test_readers_reject_zero_byte_files(tmp_path):
    for name, reader in (("empty.json", read_psf_mimic_json), ("empty.csv", read_flipbank_csv)):
        path = tmp_path / name
        path.write_bytes(b"")
        with pytest.raises(RecordError, match=r"whole file: file is empty \(zero bytes\)") as caught:
            reader(path)
        assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize("document", [[], {"rows": []}, {"results": {"q": 1}}, "results"])
def test_mimic_reader_needs_a_results_list(tmp_path, document):
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(document))
    with pytest.raises(RecordError) as caught:
        read_psf_mimic_json(path)
    assert_names(caught.value, path, "top level", "results")


def test_mimic_reader_accepts_a_utf8_bom(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"results": [mimic_row(1)]}).encode())
    assert len(read_psf_mimic_json(path).records) == 1


def test_mimic_skip_invalid_reports_every_skipped_row(tmp_path):
    rows = [
        mimic_row(1),
        mimic_row(2, answer="maybe"),
        mimic_row(3),
        mimic_row(4, paraphrases=[]),
        "not a row",
        mimic_row(1),
        mimic_row(7, paraphrases=[{"text": "x?", "phenomenon": "bogus"}]),
    ]
    path = write_mimic(tmp_path, rows)
    result = read_psf_mimic_json(path, skip_invalid=True)
    assert [record.question_id for record in result.records] == ["q-1", "q-3"]
    assert [(item.location, item.field) for item in result.skipped] == [
        ("row 2 (question_id 'q-2')", "answer"),
        ("row 4 (question_id 'q-4')", "paraphrases"),
        ("row 5", None),
        ("row 6 (question_id 'q-1')", "question_id"),
        ("row 7 (question_id 'q-7')", "paraphrases[0].phenomenon"),
    ]
    assert all(item.file == str(path) for item in result.skipped)
    assert result.skipped[0].describe().startswith(f"{path}: row 2 (question_id 'q-2'), field")
    with pytest.raises(RecordError):
        read_psf_mimic_json(path)


def test_skip_invalid_still_raises_on_file_level_problems(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")
    with pytest.raises(RecordError, match="malformed JSON"):
        read_psf_mimic_json(path, skip_invalid=True)


def test_image_root_must_be_a_folder(tmp_path):
    path = write_mimic(tmp_path, [mimic_row(1)])
    with pytest.raises(NotADirectoryError):
        read_psf_mimic_json(path, image_root=tmp_path / "missing")


# ---- PadChest / VinDr flip-bank CSV ----------------------------------------------------------


def test_csv_reader_groups_rows_by_question(tmp_path):
    rows = [csv_row(1, 1), csv_row(2, 1), csv_row(1, 2, phenomenon="Negation_Pattern"), csv_row(1, 3)]
    result = read_flipbank_csv(write_csv(tmp_path, rows), source="psf-med-vindr")
    assert result.skipped == []
    assert [record.question_id for record in result.records] == ["c-1", "c-2"]
    first = result.records[0]
    assert [p.text for p in first.paraphrases] == [
        "Is the heart enlarged (variant 1)?",
        "Is the heart enlarged (variant 2)?",
        "Is the heart enlarged (variant 3)?",
    ]
    assert first.paraphrases[1].phenomenon.value == "negation_pattern"
    assert (first.answer, first.image, first.finding) == ("yes", "vindr/1.png", "cardiomegaly")
    assert (first.question_type, first.source) == ("unspecified", "psf-med-vindr")


def test_csv_reader_uses_optional_columns(tmp_path):
    columns = (*CSV_COLUMNS, "question_type", "finding")
    rows = [csv_row(1, 1, question_type="presence", finding="Cardiomegaly")]
    record = read_flipbank_csv(write_csv(tmp_path, rows, columns)).records[0]
    assert (record.question_type, record.finding) == ("presence", "cardiomegaly")


CSV_ERRORS = [
    ({"phenomenon": "sarcasm"}, "phenomenon", "unknown phenomenon 'sarcasm'"),
    (
        {"ground_truth": "no"},
        "ground_truth",
        "inconsistent within question_id 'c-1': 'no' here, 'yes' at line 2",
    ),
    ({"original_question": "Is the heart big?"}, "original_question", "inconsistent"),
    ({"image_path": "vindr/other.png"}, "image_path", "'vindr/1.png' at line 2"),
    (
        {"paraphrase": "Is the heart enlarged (variant 1)?"},
        "paraphrase",
        "duplicate paraphrase (first at line 2",
    ),
    ({"paraphrase": ""}, "paraphrase", "empty text"),
    ({"ground_truth": "uncertain"}, "ground_truth", "non-yes/no ground-truth answer"),
]


@pytest.mark.parametrize(("changes", "field", "reason"), CSV_ERRORS)
def test_csv_reader_errors_name_file_line_and_field(tmp_path, changes, field, reason):
    path = write_csv(tmp_path, [csv_row(1, 1), csv_row(2, 1), csv_row(1, 2, **changes)])
    with pytest.raises(RecordError) as caught:
        read_flipbank_csv(path)
    assert_names(caught.value, path, "line 4 (question_id 'c-1')", field)
    assert reason in str(caught.value)


def test_csv_reader_reports_a_missing_column(tmp_path):
    columns = tuple(column for column in CSV_COLUMNS if column != "phenomenon")
    path = write_csv(tmp_path, [csv_row(1, 1)], columns)
    with pytest.raises(RecordError) as caught:
        read_flipbank_csv(path)
    assert_names(caught.value, path, "line 1 (header)", "phenomenon")


def test_csv_reader_reports_short_and_long_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    header = ",".join(CSV_COLUMNS)
    path.write_text(f"{header}\nc-1,a.png,yes,Is there X?,Any X?\n", encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        read_flipbank_csv(path)
    assert_names(caught.value, path, "line 2 (question_id 'c-1')", "phenomenon")
    path.write_text(f"{header}\nc-1,a.png,yes,Is there X?,Any X?,negation_pattern,extra\n")
    with pytest.raises(RecordError, match=r"line 2 .*more fields than the header"):
        read_flipbank_csv(path)


def test_csv_reader_reports_non_utf8_bytes_with_their_line(tmp_path):
    path = write_csv(tmp_path, [csv_row(1, 1), csv_row(1, 2, paraphrase="Cœur élargi?")])
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    with pytest.raises(RecordError, match=r"line 3, column \d+: not UTF-8") as caught:
        read_flipbank_csv(path)
    assert str(caught.value).startswith(str(path))


def test_csv_reader_checks_images_against_the_root(tmp_path):
    root = tmp_path / "images"
    (root / "vindr").mkdir(parents=True)
    (root / "vindr" / "1.png").write_bytes(b"png")
    path = write_csv(tmp_path, [csv_row(1, 1), csv_row(2, 1)])
    with pytest.raises(RecordError) as caught:
        read_flipbank_csv(path, image_root=root)
    assert_names(caught.value, path, "line 3 (question_id 'c-2')", "image_path")
    result = read_flipbank_csv(path, image_root=root, skip_invalid=True)
    assert [record.image for record in result.records] == [str(root / "vindr" / "1.png")]


def test_csv_skip_invalid_reports_every_skipped_line(tmp_path):
    rows = [
        csv_row(1, 1),
        csv_row(1, 2, phenomenon="bogus"),
        csv_row(2, 1, ground_truth="maybe"),
        csv_row(2, 2, ground_truth="maybe"),
        csv_row(1, 3, ground_truth="no"),
        csv_row(3, 1),
    ]
    path = write_csv(tmp_path, rows)
    result = read_flipbank_csv(path, skip_invalid=True)
    assert [record.question_id for record in result.records] == ["c-1", "c-3"]
    assert len(result.records[0].paraphrases) == 1
    assert [(item.location, item.field) for item in result.skipped] == [
        ("line 3 (question_id 'c-1')", "phenomenon"),
        ("line 4 (question_id 'c-2')", "ground_truth"),
        ("line 5 (question_id 'c-2')", "ground_truth"),
        ("line 6 (question_id 'c-1')", "ground_truth"),
    ]


# ---- property tests: malformed input only ever raises RecordError -----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
field_names = st.sampled_from(
    ["question_id", "question_type", "answer", "filename", "original_question", "paraphrases", "finding"]
)
paraphrase_items = st.fixed_dictionaries(
    {
        "text": st.one_of(st.text(max_size=6), json_values),
        "phenomenon": st.one_of(
            st.sampled_from(["negation_pattern", "Scope_Quantification", "bogus", ""]), json_values
        ),
    }
)


@st.composite
def malformed_rows(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    row = mimic_row(draw(st.integers(0, 4)))
    for name in draw(st.lists(field_names, max_size=3)):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            row.pop(name, None)
        elif choice == 1:
            row[name] = draw(json_values)
        else:
            row["paraphrases"] = draw(st.lists(paraphrase_items, max_size=2))
    return row


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(malformed_rows(), max_size=6))
def test_malformed_mimic_rows_only_raise_record_errors(rows):
    with tempfile.TemporaryDirectory() as folder:
        path = write_mimic(Path(folder), rows)
        with contextlib.suppress(RecordError):
            read_psf_mimic_json(path)
        result = read_psf_mimic_json(path, skip_invalid=True)
        assert len(result.records) + len(result.skipped) == len(rows)


csv_cells = st.one_of(
    st.sampled_from(["yes", "No", "c-1", "c-2", "negation_pattern", "bogus", ""]),
    st.text(max_size=8),
)


@settings(max_examples=80, deadline=None)
@given(cells=st.lists(st.lists(csv_cells, min_size=5, max_size=7), max_size=6))
def test_malformed_csv_rows_only_raise_record_errors(cells):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(cells)
        path.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            result = read_flipbank_csv(path, skip_invalid=True)
        except RecordError:
            return
        kept = sum(len(record.paraphrases) for record in result.records)
        assert kept + len(result.skipped) == len(cells)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=80))
def test_arbitrary_bytes_only_raise_record_errors(data):
    with tempfile.TemporaryDirectory() as folder:
        for name, reader in (("x.json", read_psf_mimic_json), ("x.csv", read_flipbank_csv)):
            path = Path(folder) / name
            path.write_bytes(data)
            with contextlib.suppress(RecordError):
                reader(path, skip_invalid=True)
