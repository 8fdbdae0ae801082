"""Tests of reading a local copy of the Hugging Face dataset saillab/psf-med."""

from pathlib import Path

import pandas as pd
import pytest

from flipbank.errors import RecordError
from flipbank.hf_loading import find_data_files
from flipbank.readers import read_hf_psf_med

datasets = pytest.importorskip("datasets")


def hf_rows() -> list[dict[str, object]]:
    paraphrases = [{"text": "Any effusion here?", "phenomenon": "specificity_modulation"}]
    return [
        {
            "question_id": "m-1",
            "question_type": "presence",
            "answer": "Yes",
            "filename": "p10/a.jpg",
            "original_question": "Is there a pleural effusion?",
            "paraphrases": paraphrases,
            "is_yesno": True,
        },
        {
            "question_id": "m-2",
            "question_type": "location",
            "answer": "left",
            "filename": "p10/b.jpg",
            "original_question": "Which side is the effusion on?",
            "paraphrases": paraphrases,
            "is_yesno": False,
        },
        {
            "question_id": "m-3",
            "question_type": "presence",
            "answer": "no",
            "filename": "p10/c.jpg",
            "original_question": "Is there a pneumothorax?",
            "paraphrases": [{"text": "Is there a collapsed lung?", "phenomenon": "lexical_substitution"}],
            "is_yesno": True,
        },
    ]


def test_reads_a_save_to_disk_folder_and_reports_non_yes_no_rows(tmp_path):
    folder = tmp_path / "psf-med"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(hf_rows())}).save_to_disk(str(folder))
    result = read_hf_psf_med(folder)
    assert [record.question_id for record in result.records] == ["m-1", "m-3"]
    assert result.records[0].answer == "yes"
    assert result.records[1].finding == "pneumothorax"
    assert {record.source for record in result.records} == {"psf-med-mimic"}
    assert [(item.location, item.field, item.reason) for item in result.skipped] == [
        ("row 2 (question_id 'm-2')", "is_yesno", "not a yes/no question")
    ]


def test_reads_a_config_folder_of_parquet_files(tmp_path):
    folder = tmp_path / "snapshot"
    (folder / "mimic").mkdir(parents=True)
    (folder / "vindr").mkdir()
    pd.DataFrame(hf_rows()).to_parquet(folder / "mimic" / "test-00000-of-00001.parquet")
    pd.DataFrame(hf_rows()[:1]).to_parquet(folder / "vindr" / "test-00000-of-00001.parquet")
    mimic = read_hf_psf_med(folder, cache_dir=tmp_path / "cache")
    assert len(mimic.records) == 2
    vindr = read_hf_psf_med(folder, config="vindr", cache_dir=tmp_path / "cache")
    assert [record.source for record in vindr.records] == ["psf-med-vindr"]


def test_reads_paraphrase_per_row_configs(tmp_path):
    folder = tmp_path / "snapshot" / "padchest"
    folder.mkdir(parents=True)
    rows = [
        {
            "question_id": "p-1",
            "image_path": "padchest/1.png",
            "ground_truth": "yes",
            "original_question": "Is there cardiomegaly?",
            "paraphrase": text,
            "phenomenon": "syntactic_restructuring",
            "is_yesno": True,
        }
        for text in ("Does the heart look enlarged?", "Is the heart enlarged?")
    ]
    pd.DataFrame(rows).to_json(folder / "test.jsonl", orient="records", lines=True)
    result = read_hf_psf_med(folder.parent, config="padchest", cache_dir=tmp_path / "cache")
    assert len(result.records) == 1
    assert len(result.records[0].paraphrases) == 2


def test_strict_mode_raises_and_skip_mode_reports_invalid_rows(tmp_path):
    rows = hf_rows()
    rows[2]["paraphrases"] = [{"text": "Is there a collapsed lung?", "phenomenon": "hyperbole"}]
    folder = tmp_path / "psf-med"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(str(folder))
    with pytest.raises(RecordError) as caught:
        read_hf_psf_med(folder)
    assert str(caught.value).startswith(f"{folder} [mimic/test]: row 3 (question_id 'm-3')")
    assert caught.value.field == "paraphrases[0].phenomenon"
    result = read_hf_psf_med(folder, skip_invalid=True)
    assert [item.field for item in result.skipped] == ["is_yesno", "paraphrases[0].phenomenon"]


def test_missing_folder_split_or_files_are_record_errors(tmp_path):
    with pytest.raises(RecordError, match="not a folder"):
        read_hf_psf_med(tmp_path / "absent")
    folder = tmp_path / "psf-med"
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(hf_rows())}).save_to_disk(str(folder))
    with pytest.raises(RecordError, match="no split 'test'"):
        read_hf_psf_med(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordError, match="no data files for config 'mimic' split 'test'"):
        read_hf_psf_med(empty)


def test_find_data_files_matches_config_and_split(tmp_path):
    for relative in (
        "mimic/test-00000-of-00002.parquet",
        "mimic/test-00001-of-00002.parquet",
        "mimic/train-00000.parquet",
        "data/vindr_test.parquet",
        ".cache/mimic/test.parquet",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"")
    found = [path.relative_to(tmp_path).as_posix() for path in find_data_files(tmp_path, "mimic", "test")]
    assert found == ["mimic/test-00000-of-00002.parquet", "mimic/test-00001-of-00002.parquet"]
    assert [path.name for path in find_data_files(tmp_path, "vindr", "test")] == ["vindr_test.parquet"]
    assert find_data_files(tmp_path, "padchest", "test") == []
    single = tmp_path / "single"
    single.mkdir()
    (single / "test.jsonl").write_text("{}\n")
    assert find_data_files(single, "mimic", "test") == [Path(single / "test.jsonl")]
