"""The synthetic MediConfusion set from demo radiographs, read back by the real reader and scored on the tiny
model; the image-side Δf ranks features by how much the two images move them."""

import doctest
import json
from pathlib import Path

import numpy as np
import pytest

import flipbank.demo_confusion
from experiments.steps.confusion_study import (
    answer_pairs,
    confusion_prompt,
    image_side_delta_f,
    image_to_image_patches,
    scores_table,
)
from flipbank.demo_confusion import write_confusion_set
from flipbank.mediconfusion import read_mediconfusion, score_pairs
from interp.choice_scoring import letter_probabilities
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
    features = delta["feature"].tolist()
    patches = image_to_image_patches(
        tiny_handle, tiny_sae, read.pairs, CHAT_TEMPLATE, [features[:1], features[:3]]
    )
    assert len(patches) == 8 and patches["n_features"].tolist() == [1] * 4 + [3] * 4
    assert (
        patches["paraphrase_margin"][:4].tolist() == patches["paraphrase_margin"][4:].tolist()
    )  # one clean run for both sets
    letters = letter_probabilities(
        tiny_handle, [confusion_prompt(read.pairs[0], str(read.pairs[0].image_1))], [2], CHAT_TEMPLATE
    )[0]
    assert patches["paraphrase_margin"].iloc[0] == pytest.approx(
        np.log(letters[0] / letters[1]), abs=1e-3
    )  # logit A − B
    assert patches["delta_margin"].abs().max() > 0  # the image-2 features move image 1's margin
    expected = patches["delta_margin"] / patches["gap"]
    assert np.allclose(patches["recovery"].dropna(), expected[patches["recovery"].notna()])
    prefix = answer_pairs(tiny_handle, read.pairs, CHAT_TEMPLATE, mode="prefix")
    assert all(a.answer_1 in ("A", "B") and a.answer_2 in ("A", "B") for a in prefix)
    mc = answer_pairs(tiny_handle, read.pairs[:1], CHAT_TEMPLATE, mode="mc", batch_size=2)
    assert all(answer in ("A", "B", None) for answer in (mc[0].answer_1, mc[0].answer_2))


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.demo_confusion).failed == 0
