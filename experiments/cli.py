"""The ``psf-workbench`` command line: one sub-command per job."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.demo_margins import run_demo_margins
from experiments.model_options import ModelOptions
from interp.demo_model import DEMO_MODEL_SPEC
from interp.prompts import PromptStyle

app = typer.Typer(no_args_is_help=True, help="Paraphrase-sensitivity interpretability workbench.")


@app.command("demo-margins")
def demo_margins(
    model: str = typer.Option(DEMO_MODEL_SPEC, help="HF id, local folder, gemma3-270m or tiny-mm"),
    prompt_style: PromptStyle = typer.Option(PromptStyle.FEW_SHOT, help="chat or few_shot"),
    device: str | None = typer.Option(None, help="cpu, cuda, cuda:1 … (default: automatic)"),
    dtype: str | None = typer.Option(None, help="float32, bfloat16 … (default: automatic)"),
    output: Path = typer.Option(Path("runs"), help="folder that receives the run folder"),
) -> None:
    """Print yes-minus-no margins of clinical question/paraphrase pairs on a model."""
    options = ModelOptions(spec=model, device=device, dtype=dtype, prompt_style=prompt_style)
    run_demo_margins(options, output)


@app.command("version")
def version() -> None:
    """Print the workbench version."""
    from importlib import metadata

    typer.echo(metadata.version("psf-workbench"))
