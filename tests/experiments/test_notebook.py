"""Runs notebooks/explorer.ipynb headless on the tiny multimodal model, with a small random SAE and a small
FlipBank; any cell error (including the notebook's own checks of its widgets) fails the test."""

from __future__ import annotations

import re
from pathlib import Path

from nbclient import NotebookClient

from interp.handle import ModelHandle
from tests.experiments.explorer_notebook import REPOSITORY, explorer_for_test


def test_the_explorer_runs_headless_on_the_tiny_model(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    notebook = explorer_for_test(tiny_handle, tmp_path)
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
