"""The explorer notebook set up for a test: a three-pair FlipBank with images, a small random SAE on the tiny
multimodal model, and a copy of the notebook with a parameters cell for them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
from PIL import Image

from flipbank.record_io import write_jsonl
from flipbank.records import FlipCase, Phenomenon
from interp.handle import ModelHandle
from tests.saes.sae_factories import random_jumprelu, resid_sample, write_gemma_scope

REPOSITORY = Path(__file__).resolve().parents[2]
NOTEBOOK = REPOSITORY / "notebooks" / "explorer.ipynb"
QUESTIONS = (
    ("Is there a pleural effusion?", "Any fluid around the lungs?", Phenomenon.LEXICAL_SUBSTITUTION),
    ("Is the heart enlarged?", "Isn't the heart enlarged?", Phenomenon.NEGATION_PATTERN),
    (
        "Is there a pneumothorax?",
        "On this film, is there a pneumothorax?",
        Phenomenon.SYNTACTIC_RESTRUCTURING,
    ),
)


def write_flipbank(folder: Path) -> list[FlipCase]:
    """``folder/flipbank.jsonl`` with one pair per entry of ``QUESTIONS``, each with its own random image."""
    rng = np.random.default_rng(0)
    cases = []
    for index, (original, paraphrase, phenomenon) in enumerate(QUESTIONS):
        image = folder / f"image-{index}.png"
        Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), mode="RGB").save(image)
        cases.append(
            FlipCase(
                question_id=f"q{index}",
                image=str(image),
                finding="pleural effusion",
                original_question=original,
                paraphrase=paraphrase,
                phenomenon=phenomenon,
                original_answer="yes" if index % 2 == 0 else "no",
                paraphrase_answer="no" if index % 2 == 0 else "yes",
                original_margin=0.5,
                paraphrase_margin=-0.5,
                direction=None,  # type: ignore[arg-type]  # derived from the answers
                similarity=0.97,
            )
        )
    write_jsonl(folder / "flipbank.jsonl", cases, FlipCase)
    return cases


def explorer_for_test(handle: ModelHandle, folder: Path, **parameters: object) -> nbformat.NotebookNode:
    """The explorer on ``handle`` (tiny-mm), a random SAE at layer 2 and the FlipBank of ``write_flipbank``,
    with ``parameters`` overriding further settings (e.g. ``RUN_CALLBACKS=False``)."""
    sae = random_jumprelu(handle.d_model, 64, seed=5, sample=resid_sample(handle, 2))
    sae_folder = write_gemma_scope(folder / "sae", sae, 2, "google/gemma-3-4b-it")
    write_flipbank(folder)
    settings: dict[str, object] = {
        "MODEL_SPEC": "tiny-mm",
        "PROMPT_STYLE": "chat",
        "DEVICE": "cpu",
        "SAE_FOLDER": str(sae_folder),
        "FLIPBANK_PATH": str(folder / "flipbank.jsonl"),
        "TOP_K": 5,
        **parameters,
    }
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "the notebook must have exactly one cell tagged 'parameters'"
    assignments = "\n".join(f"{name} = {value!r}" for name, value in settings.items())
    notebook.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(assignments))
    return notebook
