"""MediConfusion on a model: each image of a pair is asked the pair's question separately, scored by the
restricted softmax over the "A"/"B" next-token logits (the benchmark's ``greedy`` mode), then the
benchmark's metrics beside the random baselines; and the image-side Δf: the SAE features whose final-token
activation differs most between a pair's two images, ranked across pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from flipbank.images import load_image
from flipbank.mediconfusion import ConfusionAnswers, ConfusionPair, ConfusionScores
from interp.choice_scoring import letter_probabilities
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate
from interp.resid_cache import final_token_resid
from saes.features import encode_all
from saes.loading import LoadedSAE


def confusion_prompt(pair: ConfusionPair, image: str) -> PromptInput:
    """The pair's question with its two options, shown with one of its images."""
    text = f"{pair.question}\nA. {pair.option_a}\nB. {pair.option_b}\nAnswer with the letter A or B."
    return PromptInput(text, load_image(image))


def answer_pairs(
    handle: ModelHandle, pairs: Sequence[ConfusionPair], template: PromptTemplate, batch_size: int = 8
) -> list[ConfusionAnswers]:
    """Each image's more probable letter (``greedy`` mode: always valid)."""
    prompts = [confusion_prompt(p, str(image)) for p in pairs for image in (p.image_1, p.image_2)]
    probabilities = letter_probabilities(handle, prompts, [2] * len(prompts), template, batch_size)
    letters = ["AB"[int(np.argmax(p))] for p in probabilities]
    return [
        ConfusionAnswers(
            p.pair_id,
            letters[2 * i],
            letters[2 * i + 1],
            p.correct_1,
            p.correct_2,
            p.categories_1,
            p.categories_2,
        )
        for i, p in enumerate(pairs)
    ]


def image_side_delta_f(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[ConfusionPair],
    template: PromptTemplate,
    top: int = 20,
) -> pd.DataFrame:
    """The ``top`` features by mean |f(image 2) − f(image 1)| at the final token, with how many pairs move
    each one at all."""
    prompts = [confusion_prompt(p, str(image)) for p in pairs for image in (p.image_1, p.image_2)]
    resid = final_token_resid(handle, prompts, template, [loaded.layer])[:, 0]
    values = encode_all(loaded.sae, resid).float().cpu()  # (2 · pairs, d_sae)
    delta = (values[1::2] - values[0::2]).abs()  # (pair, d_sae)
    mean = delta.mean(dim=0)
    order = torch.argsort(mean, descending=True)[:top]
    return pd.DataFrame(
        {
            "feature": order.tolist(),
            "mean_abs_delta_f": mean[order].tolist(),
            "pairs_moved": (delta[:, order] > 0).sum(dim=0).tolist(),
        }
    )


def scores_table(scores: ConfusionScores) -> pd.DataFrame:
    """The benchmark's metrics with the random baselines beside them, then one row per category."""
    rows = [
        ("set accuracy", scores.set_accuracy, 0.25),
        ("individual accuracy", scores.individual_accuracy, 0.5),
        ("confusion", scores.confusion, 0.5),
        ("invalid rate", scores.invalid_rate, float("nan")),
    ]
    rows += [(f"accuracy: {c}", value, 0.5) for c, (value, _) in scores.per_category.items()]
    return pd.DataFrame(rows, columns=["metric", "value", "random"])
