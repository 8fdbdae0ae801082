"""Readable errors on the command line: an expected error (bad input record, missing model weights, a results
folder of another configuration or other weights, a failed preflight, a non-finite margin, an SAE that does
not fit, an empty FlipBank, a sweep layer the model lacks) prints its message alone to stderr and exits
with status 2; any other exception keeps its traceback. ``--debug`` (or ``PSF_WORKBENCH_DEBUG=1``) shows
the traceback of every error."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from experiments.commands.preflight import PreflightError
from experiments.commands.run_weights import RunWeightsError
from experiments.steps.mining import NonFiniteMarginError
from experiments.steps.study_context import EmptyFlipBankError, SweepLayerError
from experiments.study_file import StudyFileError
from flipbank.errors import RecordError
from flipbank.mining_store import ConfigMismatchError
from interp.demo_vlm import DemoVLMNotTrainedError
from interp.loading import ModelWeightsMissingError
from saes.loading import SAELoadError

#: Errors whose message says what is wrong and what to do, so a traceback only hides it.
KNOWN_ERRORS: tuple[type[Exception], ...] = (
    RecordError,
    ModelWeightsMissingError,
    DemoVLMNotTrainedError,
    ConfigMismatchError,
    RunWeightsError,
    PreflightError,
    NonFiniteMarginError,
    SAELoadError,
    EmptyFlipBankError,
    SweepLayerError,
    StudyFileError,
)
EXIT_KNOWN_ERROR = 2
DEBUG_ENV_VARIABLE = "PSF_WORKBENCH_DEBUG"


class ReadableErrorsGroup(TyperGroup):
    """The command group of the workbench: turns `KNOWN_ERRORS` into their message and exit status 2,
    unless the group's ``--debug`` option is set."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context, which typer does not export
        try:
            return super().invoke(ctx)
        except KNOWN_ERRORS as error:
            if ctx.params.get("debug"):
                raise
            typer.echo(str(error), err=True)
            raise typer.Exit(EXIT_KNOWN_ERROR) from None


def debug_option() -> Any:
    """The group's ``--debug`` flag."""
    return typer.Option(
        False, "--debug", envvar=DEBUG_ENV_VARIABLE, help="show the traceback of every error, expected or not"
    )
