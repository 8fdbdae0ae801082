"""Fixtures of the experiments tests: a guard that fails a test when any model is loaded."""

from __future__ import annotations

import pytest
import transformers

import experiments.commands.cli
import experiments.commands.cli_mining
import experiments.model_options
import interp.loading


@pytest.fixture
def no_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model load fails the test: the loader under every name it is imported by, and transformers' own
    ``from_pretrained`` of models."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded")

    for module in (
        interp.loading,
        experiments.commands.cli,
        experiments.commands.cli_mining,
        experiments.model_options,
    ):
        monkeypatch.setattr(module, "load_model", refuse)
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))
