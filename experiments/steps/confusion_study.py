"""MediConfusion on a model: each image of a pair is asked the pair's question separately, answered in the
benchmark's ``greedy``, ``mc`` or ``prefix`` mode, then the benchmark's metrics beside the random baselines;
and the image-side Δf: the SAE features whose final-token activation differs most between a pair's two
images, ranked across pairs, and the delta-only patch of those features from one image into the other."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from flipbank.causal_metrics import patch_outcomes
from flipbank.images import load_image
from flipbank.mediconfusion import (
    MC_ANSWER_TOKENS,
    ConfusionAnswers,
    ConfusionMode,
    ConfusionPair,
    ConfusionScores,
    Letter,
    parse_letter,
    score_pairs,
)
from interp.choice_scoring import letter_probabilities, option_letter_tokens, option_log_likelihoods
from interp.generation import answer_texts
from interp.handle import ModelHandle
from interp.patching import margins_of, patched_margins
from interp.prompt_pair import PromptPair
from interp.prompts import PromptInput, PromptTemplate
from interp.resid_cache import final_token_resid
from saes.features import encode_all, feature_slice
from saes.loading import LoadedSAE


def confusion_prompt(pair: ConfusionPair, image: str) -> PromptInput:
    """The pair's question with its two options, shown with one of its images."""
    text = f"{pair.question}\nA. {pair.option_a}\nB. {pair.option_b}\nAnswer with the letter A or B."
    return PromptInput(text, load_image(image))


def _letters(
    handle: ModelHandle,
    pairs: Sequence[ConfusionPair],
    prompts: list[PromptInput],
    template: PromptTemplate,
    mode: ConfusionMode,
    batch_size: int,
) -> list[Letter | None]:
    """One letter per prompt (two per pair, in order) under ``mode``; None: an invalid ``mc`` answer."""
    if mode == "mc":
        texts = answer_texts(handle, prompts, template, MC_ANSWER_TOKENS, batch_size)
        return [parse_letter(text) for text in texts]
    if mode == "prefix":
        options = [[p.option_a, p.option_b] for p in pairs for _ in range(2)]
        scores = option_log_likelihoods(handle, prompts, options, template, batch_size)
    else:
        scores = letter_probabilities(handle, prompts, [2] * len(prompts), template, batch_size)
    return ["AB"[int(np.argmax(score))] for score in scores]


def answer_pairs(
    handle: ModelHandle,
    pairs: Sequence[ConfusionPair],
    template: PromptTemplate,
    mode: ConfusionMode = "greedy",
    batch_size: int = 8,
) -> list[ConfusionAnswers]:
    """Each image's answer under one of the benchmark's modes: ``greedy`` (the more probable of the "A"/"B"
    next-token logits, always valid), ``mc`` (a greedy answer of up to 32 tokens, its letter parsed; none
    or both letters: invalid) or ``prefix`` (the option whose text is the likelier answer by geometric-mean
    token probability)."""
    prompts = [confusion_prompt(p, str(image)) for p in pairs for image in (p.image_1, p.image_2)]
    letters = _letters(handle, pairs, prompts, template, mode, batch_size)
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


def scores_by_mode(
    handle: ModelHandle,
    pairs: Sequence[ConfusionPair],
    template: PromptTemplate,
    modes: Sequence[ConfusionMode],
    batch_size: int = 8,
) -> pd.DataFrame:
    """`scores_table` of the pairs answered in each of ``modes``, stacked with a ``mode`` column."""
    tables = [
        scores_table(score_pairs(answer_pairs(handle, pairs, template, mode, batch_size))).assign(mode=mode)
        for mode in modes
    ]
    return pd.concat(tables, ignore_index=True)


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


def image_to_image_patches(
    handle: ModelHandle,
    loaded: LoadedSAE,
    pairs: Sequence[ConfusionPair],
    template: PromptTemplate,
    feature_sets: Sequence[Sequence[int]],
    batch_size: int = 8,
) -> pd.DataFrame:
    """The image-side delta-only patch: image 1's prompt run with each set of features set to their
    activations on image 2 (Δf·W_dec added at the final token of the SAE's layer), read as the A − B letter
    margin. Per pair and set: both clean margins, the patched one, and the share of the gap it closes
    (`patch_outcomes`, image 2 in the role of the original); the clean runs are shared by every set."""
    prompts = [confusion_prompt(p, str(image)) for p in pairs for image in (p.image_1, p.image_2)]
    letters = option_letter_tokens(handle, template.answer_leading_space)
    clean = margins_of(handle, prompts, template, batch_size, answer_tokens=letters)
    patch_pairs = [
        PromptPair(original=second, paraphrase=first)
        for first, second in zip(prompts[::2], prompts[1::2], strict=True)
    ]
    second_resid = final_token_resid(handle, prompts[1::2], template, [loaded.layer], batch_size)[:, 0]
    frames = []
    for features in feature_sets:
        patched = patched_margins(
            handle,
            patch_pairs,
            loaded.layer,
            feature_slice(loaded.sae, list(features)),
            template,
            original_resid=second_resid,
            batch_size=batch_size,
            progress=False,
            answer_tokens=letters,
        )
        outcomes = patch_outcomes(clean[1::2].numpy(), clean[0::2].numpy(), patched.numpy())
        frames.append(outcomes.assign(pair_id=[p.pair_id for p in pairs], n_features=len(features)))
    return pd.concat(frames, ignore_index=True)
