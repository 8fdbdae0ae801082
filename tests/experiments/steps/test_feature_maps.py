"""The FlipBank's feature maps: one case per picture, and each token's activation in its grid cell."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from experiments.steps.feature_maps import distinct_pictures, feature_image_maps
from flipbank.records import FlipCase, Phenomenon
from interp.handle import ModelHandle
from interp.prompts import CHAT_TEMPLATE, PromptInput
from saes.image_features import image_token_features
from saes.loading import LoadedSAE
from tests.saes.conftest import tiny_sae, tiny_sae_folder  # noqa: F401 (fixtures)


def _case(question_id: str, image: str) -> FlipCase:
    return FlipCase(
        question_id=question_id,
        image=image,
        finding="edema",
        original_question="Is there edema?",
        paraphrase="Any pulmonary edema?",
        phenomenon=Phenomenon.LEXICAL_SUBSTITUTION,
        original_answer="yes",
        paraphrase_answer="no",
        original_margin=0.4,
        paraphrase_margin=-0.3,
        direction=None,  # type: ignore[arg-type]  # derived from the answers
        similarity=0.9,
    )


def test_one_case_per_picture_in_flipbank_order() -> None:
    cases = [_case("q1", "a.png"), _case("q2", "a.png"), _case("q3", "b.png"), _case("q4", "c.png")]
    assert [c.question_id for c in distinct_pictures(cases, n=2)] == ["q1", "q3"]
    assert len(distinct_pictures(cases)) == 3


def test_each_token_lands_in_its_grid_cell(
    tiny_handle: ModelHandle,
    tiny_sae: LoadedSAE,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(1)
    pictures = {}
    for name in ("a.png", "b.png"):
        pictures[name] = Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), mode="RGB")
    cases = [_case("q1", "a.png"), _case("q2", "b.png")]
    maps = feature_image_maps(tiny_handle, tiny_sae, cases, pictures.__getitem__, CHAT_TEMPLATE, [0, 5])
    n_tokens = tiny_handle.model.config.mm_tokens_per_image
    assert len(maps) == 2 * 2 * n_tokens and maps["row"].max() == maps["col"].max() == int(n_tokens**0.5) - 1
    alone = image_token_features(
        tiny_handle, tiny_sae, [PromptInput("Is there edema?", pictures["b.png"])], CHAT_TEMPLATE, [5]
    )[0, 0]
    cell = maps[(maps["question_id"] == "q2") & (maps["feature"] == 5)].sort_values(["row", "col"])
    torch.testing.assert_close(
        torch.tensor(cell["activation"].to_numpy()), alone.double(), atol=1e-4, rtol=1e-4
    )
