"""Runs notebooks/explorer.ipynb headless on the tiny multimodal model, with a small random SAE and a small
FlipBank; any cell error (including the notebook's own checks of its widgets) fails the test."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient
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


def _flipbank(folder: Path) -> Path:
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
    return write_jsonl(folder / "flipbank.jsonl", cases, FlipCase)


def _parameters(sae_folder: Path, flipbank: Path) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(
        "\n".join(
            [
                'MODEL_SPEC = "tiny-mm"',
                'PROMPT_STYLE = "chat"',
                'DEVICE = "cpu"',
                f"SAE_FOLDER = {str(sae_folder)!r}",
                f"FLIPBANK_PATH = {str(flipbank)!r}",
                "TOP_K = 5",
            ]
        )
    )


def test_the_explorer_runs_headless_on_the_tiny_model(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    sae = random_jumprelu(tiny_handle.d_model, 64, seed=5, sample=resid_sample(tiny_handle, 2))
    sae_folder = write_gemma_scope(tmp_path / "sae", sae, 2, "google/gemma-3-4b-it")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "the notebook must have exactly one cell tagged 'parameters'"
    notebook.cells.insert(tagged[0] + 1, _parameters(sae_folder, _flipbank(tmp_path)))
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(REPOSITORY)}}
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "3 FlipBank pairs" in text
    assert "margins: original" in text  # the last status line printed after the programmatic clicks
    difference = re.search(r"max \|f\(bridge\) - f\(workbench\)\|: (\S+)", text)
    assert difference is not None and float(difference.group(1)) < 1e-3  # the TransformerLens view agrees
