"""The uncertainty step's generations on the tiny model: samples per original, their entropy, and the
verbalized pass; the same seed gives the same samples."""

import pandas as pd
from PIL import Image

from experiments.steps.uncertainty_study import generated_uncertainty, original_rows
from experiments.study_config import UncertaintyConfig
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE


def _originals(image: str | None) -> pd.DataFrame:
    rows = []
    for index, question in enumerate(["Is there an effusion?", "Is the heart enlarged?", "Any nodule?"]):
        for condition in ("real", "blank"):
            for variant in (0, 1):
                rows.append(
                    {
                        "question_id": f"q{index}",
                        "variant_index": variant,
                        "image_condition": condition,
                        "prompt_text": question if variant == 0 else question + " Please say.",
                        "image": image,
                        "answer_text": "Yes",
                    }
                )
    return original_rows(pd.DataFrame(rows), "real", ["q2", "q0"])


def test_samples_entropy_and_verbalized_confidence(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    originals = _originals("film.png")
    assert originals["question_id"].tolist() == ["q0", "q2"] and (originals["variant_index"] == 0).all()
    config = UncertaintyConfig(n_samples=4, temperature=1.0, max_new_tokens=3)
    frame = generated_uncertainty(
        tiny_handle, originals, lambda _: xray_like_image, CHAT_TEMPLATE, config, 0, 2
    )
    assert frame["question_id"].tolist() == ["q0", "q2"] and frame["samples"].map(len).eq(4).all()
    assert frame["sampling_entropy_bits"].between(0, 1.59).all()
    assert "verbalized_text" in frame and frame["verbalized_confidence"].dtype == float
    again = generated_uncertainty(
        tiny_handle, originals, lambda _: xray_like_image, CHAT_TEMPLATE, config, 0, 2
    )
    assert frame["samples"].map(list).tolist() == again["samples"].map(list).tolist()  # seeded per question
    without = UncertaintyConfig(n_samples=2, max_new_tokens=2, verbalized=False)
    text_only = generated_uncertainty(tiny_handle, _originals(None), None, CHAT_TEMPLATE, without, 0)
    assert text_only["verbalized_confidence"].isna().all() and "verbalized_text" not in text_only
