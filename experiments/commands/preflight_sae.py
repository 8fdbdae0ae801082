"""Preflight of the SAE: find the study's SAE on disk (the shipped demo SAE, a local Gemma Scope 2 or sae-lens
folder, or a release in the local HF cache) and check its layer and d_in against the model's config, and the
studied feature against its width, reading config files and safetensors headers only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import try_to_load_from_cache
from safetensors import safe_open

from experiments.commands.preflight_model import ModelFacts
from experiments.study_config import SAEConfig
from flipbank.record_checks import CheckProblem
from saes.gemma_scope_format import CONFIG_FILE, PARAMS_FILE, resid_post_layer

SAE_LENS_CONFIG = "cfg.json"
SAE_LENS_WEIGHTS = "sae_weights.safetensors"


class SAEPreflightError(ValueError):
    """An SAE that cannot be found or read; carries where and which field."""

    def __init__(self, file: str, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.problem = CheckProblem("sae", file, "SAE", field, reason)


@dataclass(frozen=True)
class SAEFacts:
    """The hook point an SAE reads, the decoder layer that is (None: not a layer output), its d_in and its
    width d_sae (None: not recorded)."""

    where: Path
    hook_point: str
    layer: int | None
    d_in: int
    d_sae: int | None = None

    def describe(self) -> str:
        width = "" if self.d_sae is None else f", d_sae {self.d_sae}"
        return f"reads {self.hook_point} (layer {self.layer}), d_in {self.d_in}{width} ({self.where})"


def _gemma_scope_facts(folder: Path) -> SAEFacts:
    config = json.loads((folder / CONFIG_FILE).read_text())
    hook_point = config.get("hf_hook_point_in")
    if not isinstance(hook_point, str):
        raise SAEPreflightError(str(folder / CONFIG_FILE), "hf_hook_point_in", "missing hook point")
    with safe_open(str(folder / PARAMS_FILE), framework="numpy") as params:
        if "w_enc" not in params.keys():  # noqa: SIM118  (safe_open is not a mapping)
            raise SAEPreflightError(str(folder / PARAMS_FILE), "w_enc", "no encoder weights")
        d_in, d_sae = (int(size) for size in params.get_slice("w_enc").get_shape())
    return SAEFacts(folder, hook_point, resid_post_layer(hook_point), d_in, d_sae)


def _sae_lens_facts(folder: Path) -> SAEFacts:
    config = json.loads((folder / SAE_LENS_CONFIG).read_text())
    metadata = config.get("metadata") or {}
    hook_point = str(metadata.get("hook_name") or config.get("hook_name") or "")
    d_sae = config.get("d_sae")
    layer = resid_post_layer(hook_point)
    return SAEFacts(folder, hook_point, layer, int(config["d_in"]), None if d_sae is None else int(d_sae))


def folder_facts(folder: Path) -> SAEFacts:
    """The facts of a Gemma Scope 2 folder (config.json + params.safetensors) or a sae-lens one."""
    if not folder.is_dir():
        raise SAEPreflightError(str(folder), None, "SAE folder not found")
    try:
        if (folder / CONFIG_FILE).is_file() and (folder / PARAMS_FILE).is_file():
            return _gemma_scope_facts(folder)
        if (folder / SAE_LENS_CONFIG).is_file() and (folder / SAE_LENS_WEIGHTS).is_file():
            return _sae_lens_facts(folder)
    except (OSError, ValueError, KeyError, TypeError) as error:
        if isinstance(error, SAEPreflightError):
            raise
        raise SAEPreflightError(
            str(folder), None, f"unreadable SAE: {type(error).__name__}: {error}"
        ) from error
    reason = f"holds neither a Gemma Scope 2 SAE ({CONFIG_FILE} + {PARAMS_FILE}) nor a sae-lens one"
    raise SAEPreflightError(str(folder), None, reason)


def _release_folder(release: str, sae_id: str, hf_cache_dir: str | Path | None) -> Path:
    from sae_lens.loading.pretrained_saes_directory import (
        get_pretrained_saes_directory,
        get_repo_id_and_folder_name,
    )

    directory = get_pretrained_saes_directory()
    if release not in directory or sae_id not in directory[release].saes_map:
        raise SAEPreflightError(f"{release}/{sae_id}", None, "unknown sae-lens release or SAE id")
    repo_id, folder_name = get_repo_id_and_folder_name(release, sae_id)
    found = [
        try_to_load_from_cache(repo_id, f"{folder_name}/{name}", cache_dir=hf_cache_dir)
        for name in (CONFIG_FILE, PARAMS_FILE)
    ]
    if not all(isinstance(path, str) for path in found):
        reason = (
            f"not in the local HF cache; download it once with `hf download {repo_id} --include "
            f"'{folder_name}/*'` (Gemma Scope 2 is gated: accept its licence and `hf auth login` first)"
        )
        raise SAEPreflightError(f"{release}/{sae_id}", None, reason)
    return Path(str(found[0])).parent


def sae_facts(
    source: SAEConfig, hf_cache_dir: str | Path | None = None, model_spec: str = "gemma3-270m"
) -> SAEFacts:
    """Finds the SAE of ``source`` on disk and reads its facts (the demo SAE shipped for ``model_spec``);
    raises `SAEPreflightError` when it cannot."""
    if source.kind == "release":
        if source.release is None or source.sae_id is None:
            raise SAEPreflightError(
                "SAE source", "sae_id", "an SAE release needs both `release` and `sae_id`"
            )
        return folder_facts(_release_folder(source.release, source.sae_id, hf_cache_dir))
    if source.kind == "folder":
        if source.path is None:
            raise SAEPreflightError("SAE source", "path", "SAE source 'folder' needs a path (--sae-path)")
        return folder_facts(source.path)
    from saes.demo_sae import demo_sae_config, demo_sae_folder, shipped_demo_sae

    config = demo_sae_config(model_spec)
    return folder_facts(shipped_demo_sae(config) or demo_sae_folder(config=config))


def fit_problems(facts: SAEFacts, model: ModelFacts) -> list[CheckProblem]:
    """The SAE's layer must exist in the model and its d_in must be the model's d_model."""
    file = str(facts.where)
    if facts.layer is None:
        reason = f"reads {facts.hook_point!r}, which is not a decoder layer's output (model.layers.N.output)"
        return [CheckProblem("sae", file, "SAE", "hook point", reason)]
    problems = []
    if not 0 <= facts.layer < model.n_layers:
        reason = f"reads layer {facts.layer}, but {model.spec!r} has {model.n_layers} decoder layers"
        problems.append(CheckProblem("sae", file, "SAE", "layer", reason))
    if facts.d_in != model.d_model:
        reason = f"d_in {facts.d_in}, but {model.spec!r} has d_model {model.d_model}"
        problems.append(CheckProblem("sae", file, "SAE", "d_in", reason))
    return problems


def feature_problems(facts: SAEFacts, feature: int | None) -> list[CheckProblem]:
    """The studied feature (None: the ranking's top one, at run time) must be one of the SAE's d_sae."""
    if feature is None or facts.d_sae is None or 0 <= feature < facts.d_sae:
        return []
    reason = (
        f"feature {feature} does not exist: the SAE has d_sae {facts.d_sae} features, numbered 0 to "
        f"{facts.d_sae - 1} (choose another feature, or the SAE of the width it was found in)"
    )
    return [CheckProblem("sae", str(facts.where), "SAE", "feature", reason)]
