"""The NOTA step on the tiny model: each item clean and under each variant, scored by letters or by a parsed
greedy answer, summarised per variant."""

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.steps.nota_study import nota_tables, score_choices
from experiments.study_config import NotaConfig
from flipbank.choice_io import read_choice_items
from flipbank.demo_choices import write_choice_set
from flipbank.multiple_choice import ChoiceItem
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE


def test_nota_tables_score_every_variant_against_one_clean_pass(
    tiny_handle: ModelHandle, tmp_path: Path
) -> None:
    items = read_choice_items(write_choice_set(tmp_path, n_items=3, seed=0))
    config = NotaConfig(variants=("replace_gold", "wrong_extra"), scoring="greedy")
    summary, per_item = nota_tables(tiny_handle, items, CHAT_TEMPLATE, config, seed=0)
    assert summary["variant"].tolist() == ["replace_gold (last)", "wrong_extra (last)"]
    assert summary["accuracy_clean"].nunique() == 1 and (summary["n_items"] == 3).all()
    assert len(per_item) == 6
    replaced = per_item[per_item["variant"] == "replace_gold"]
    assert (replaced["gold"] == replaced["nota_index"]).all()  # NOTA is right once gold is gone
    control = per_item[per_item["variant"] == "wrong_extra"]
    assert (control["gold"] != control["nota_index"]).all() and control["nota_probabilities"].map(len).eq(
        5
    ).all()
    assert all(np.isclose(sum(p), 1.0) for p in per_item["clean_probabilities"])


def test_items_with_and_without_images_are_scored_in_their_order(
    tiny_handle: ModelHandle, tmp_path: Path
) -> None:
    with_image = read_choice_items(write_choice_set(tmp_path, n_items=1, seed=0))[0]
    bare = ChoiceItem(
        item_id="t", question="Which organ pumps blood?", options=["heart", "lung", "bone"], gold=0
    )
    mixed = score_choices(tiny_handle, [bare, with_image, bare], CHAT_TEMPLATE)
    assert [len(p) for p in mixed] == [3, 4, 3]
    alone = score_choices(tiny_handle, [with_image], CHAT_TEMPLATE)
    np.testing.assert_allclose(mixed[1], alone[0], atol=1e-5)
    pd.testing.assert_series_equal(pd.Series(mixed[0]), pd.Series(mixed[2]))
