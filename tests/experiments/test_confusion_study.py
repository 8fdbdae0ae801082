"""The synthetic MediConfusion set from demo radiographs, read back by the real reader and scored on the tiny
model; the image-side Δf ranks features by how much the two images move them."""

import doctest
import json
from pathlib import Path

import numpy as np

import flipbank.demo_confusion
from experiments.confusion_study import answer_pairs, image_side_delta_f, scores_table
from flipbank.demo_confusion import write_confusion_set
from flipbank.mediconfusion import read_mediconfusion, score_pairs
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE
from saes.loading import LoadedSAE
from tests.saes.conftest import tiny_sae, tiny_sae_folder  # noqa: F401 (fixtures)


def test_the_synthetic_set_reads_scores_and_ranks(
    tiny_handle: ModelHandle,
    tiny_sae: LoadedSAE,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    dataset = write_confusion_set(tmp_path, n_pairs=4, seed=1)
    read = read_mediconfusion(dataset, tmp_path)
    assert len(read.pairs) == 4 and not read.skipped
    entries = json.loads(dataset.read_text())
    first = entries["50001"]
    assert set(first["findings_1"]) ^ set(first["findings_2"]) == {"cardiomegaly"}  # one finding differs
    answers = answer_pairs(tiny_handle, read.pairs, CHAT_TEMPLATE, batch_size=4)
    assert all(
        a.answer_1 in ("A", "B") and a.answer_2 in ("A", "B") for a in answers
    )  # greedy: never invalid
    scores = score_pairs(answers)
    assert scores.invalid_rate == 0 and 0 <= scores.set_accuracy <= 1
    table = scores_table(scores)
    assert list(table["metric"][:3]) == ["set accuracy", "individual accuracy", "confusion"]
    delta = image_side_delta_f(tiny_handle, tiny_sae, read.pairs, CHAT_TEMPLATE, top=5)
    assert len(delta) == 5 and np.all(np.diff(delta["mean_abs_delta_f"]) <= 0)


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.demo_confusion).failed == 0
