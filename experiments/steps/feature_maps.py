"""SAE features on the pictures of the FlipBank: the top features' activation at every image soft token of
the originals of a few FlipBank pairs (one per picture), as a long frame the report draws as maps over the
token grid (``features/image_maps.parquet``).

>>> maps = feature_image_maps(handle, loaded, cases, load, CHAT_TEMPLATE, [464, 1971])  # doctest: +SKIP
>>> maps.columns.tolist()                                                               # doctest: +SKIP
['feature', 'question_id', 'image', 'finding', 'row', 'col', 'activation']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from experiments.steps.mining import ImageLoader
from flipbank.records import FlipCase
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate
from saes.image_features import image_token_features
from saes.loading import LoadedSAE

MAP_FEATURES = 3
MAP_PICTURES = 4


def distinct_pictures(cases: Sequence[FlipCase], n: int = MAP_PICTURES) -> list[FlipCase]:
    """The first ``n`` cases whose pictures differ (FlipBank order)."""
    chosen: dict[str, FlipCase] = {}
    for case in cases:
        chosen.setdefault(case.image, case)
        if len(chosen) == n:
            break
    return list(chosen.values())


def feature_image_maps(
    handle: ModelHandle,
    loaded: LoadedSAE,
    cases: Sequence[FlipCase],
    load: ImageLoader,
    template: PromptTemplate,
    features: Sequence[int],
) -> pd.DataFrame:
    """Each of ``features`` at each image token (row, col of the √n × √n grid) of each case's original
    prompt with its real picture; float activations, one row per (feature, case, token)."""
    prompts = [PromptInput(case.original_question, load(case.image)) for case in cases]
    values = image_token_features(handle, loaded, prompts, template, features)  # (case, feature, token)
    side = math.isqrt(values.shape[-1])
    records = [
        {
            "feature": int(feature),
            "question_id": case.question_id,
            "image": case.image,
            "finding": case.finding or "unknown",
            "row": token // side,
            "col": token % side,
            "activation": float(values[i, j, token]),
        }
        for i, case in enumerate(cases)
        for j, feature in enumerate(features)
        for token in range(values.shape[-1])
    ]
    return pd.DataFrame(records)
