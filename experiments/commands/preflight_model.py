"""Preflight of the model: is the spec resolvable offline (config, safetensors weights, tokenizer, processor
and chat template on disk), and what shape has it (layers, d_model, images), all read from its files
without loading a weight. ``gemma3-270m`` and ``tiny-mm`` are always resolvable: they are built locally on
first use; ``demo-vlm`` too, once its trained parts are in the package."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import try_to_load_from_cache
from transformers import AutoConfig

from flipbank.atomic_folder import is_complete
from flipbank.record_checks import CheckProblem
from interp.demo_model import DEMO_MODEL_SPEC, demo_model_folder
from interp.demo_vlm import DEMO_VLM_SPEC, demo_vlm_folder, missing_trained_parts
from interp.loading import MULTIMODAL_MODEL_TYPES, TEXT_MODEL_TYPES
from interp.prompts import PromptStyle
from interp.tiny_model import TINY_MODEL_SPEC, tiny_model_folder

#: (decoder layers, d_model, takes images) of the built-in specs, for when they are not built yet.
BUILT_IN_SHAPES = {
    DEMO_MODEL_SPEC: (18, 640, False),
    DEMO_VLM_SPEC: (18, 640, True),
    TINY_MODEL_SPEC: (4, 64, True),
}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
_WEIGHTS_INDEX = "model.safetensors.index.json"


@dataclass(frozen=True)
class ModelFacts:
    """What the preflight learnt of a model without loading it."""

    spec: str
    where: str
    n_layers: int
    d_model: int
    accepts_images: bool
    folder: Path | None = None
    """Where its files are (or will be built); None when unknown."""

    def describe(self) -> str:
        kind = "multimodal" if self.accepts_images else "text-only"
        return f"{self.spec}: {self.n_layers} layers, d_model {self.d_model}, {kind} ({self.where})"


@dataclass
class ModelCheck:
    """The model's facts (None when it cannot be resolved), its problems, and notes that do not fail."""

    facts: ModelFacts | None = None
    problems: list[CheckProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, file: str, field_name: str | None, reason: str) -> ModelCheck:
        self.problems.append(CheckProblem("model", file, "model", field_name, reason))
        return self


def how_to_obtain(spec: str) -> str:
    """The steps that put an HF model's files on disk (the advice of `ModelWeightsMissingError`)."""
    return "\n".join(
        [
            "not in the local HF cache. To obtain the weights:",
            f"    1. accept the model's licence on its Hugging Face page (https://huggingface.co/{spec});"
            " MedGemma is gated behind the Health AI Developer Foundations terms,",
            "    2. log in: `hf auth login` (or set HF_TOKEN),",
            f"    3. download once: `hf download {spec}` (fills the HF cache; later runs work offline),",
            "    or pass a local folder that holds config.json and *.safetensors.",
        ]
    )


def _cached_snapshot(spec: str, hf_cache_dir: str | Path | None) -> Path | None:
    try:
        found = try_to_load_from_cache(spec, "config.json", cache_dir=hf_cache_dir)
    except ValueError:  # not a valid repository id (huggingface_hub's HFValidationError)
        return None
    return Path(found).parent if isinstance(found, str) else None


def _weights_problem(folder: Path) -> str | None:
    index = folder / _WEIGHTS_INDEX
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text()).get("weight_map", {}).values()))
        missing = [name for name in shards if not (folder / name).is_file()]
        return f"missing weight shards (incomplete download?): {', '.join(missing)}" if missing else None
    if any(folder.glob("*.safetensors")):
        return None
    return "no *.safetensors weights (the workbench reads safetensors only)"


def _has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    config = folder / "tokenizer_config.json"
    return config.is_file() and bool(json.loads(config.read_text()).get("chat_template"))


def _check_files(check: ModelCheck, folder: Path, accepts_images: bool, style: PromptStyle) -> None:
    weights = _weights_problem(folder)
    if weights is not None:
        check.fail(str(folder), "weights", weights)
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        check.fail(str(folder), "tokenizer", f"no tokenizer ({' or '.join(_TOKENIZER_FILES)})")
    if accepts_images and not any((folder / name).is_file() for name in _PROCESSOR_FILES):
        check.fail(str(folder), "processor", f"multimodal model without {' or '.join(_PROCESSOR_FILES)}")
    if style == PromptStyle.CHAT and not _has_chat_template(folder):
        check.notes.append(f"{folder} has no chat template: chat prompts use Gemma's built-in turn format")


def check_model_folder(spec: str, folder: Path, style: PromptStyle, where: str) -> ModelCheck:
    """Checks a folder that holds (or should hold) a Gemma 3 model, reading only its config and file list."""
    check = ModelCheck()
    try:
        config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:  # transformers raises OSError, ValueError, JSONDecodeError … for bad configs
        return check.fail(str(folder), "config.json", f"unreadable config: {type(error).__name__}: {error}")
    if config.model_type not in MULTIMODAL_MODEL_TYPES | TEXT_MODEL_TYPES:
        known = sorted(MULTIMODAL_MODEL_TYPES | TEXT_MODEL_TYPES)
        reason = f"model_type {config.model_type!r} is not a Gemma 3 model (expected one of {known})"
        return check.fail(str(folder), "config.json", reason)
    accepts_images = config.model_type in MULTIMODAL_MODEL_TYPES
    _check_files(check, folder, accepts_images, style)
    text = config.get_text_config()
    facts = ModelFacts(
        spec, where, int(text.num_hidden_layers), int(text.hidden_size), accepts_images, folder
    )
    check.facts = facts
    return check


def _built_in(spec: str, style: PromptStyle, cache_dir: str | Path | None) -> ModelCheck:
    problem = missing_trained_parts() if spec == DEMO_VLM_SPEC else None
    if problem is not None:
        return ModelCheck().fail(spec, None, problem)
    folders = {
        DEMO_MODEL_SPEC: demo_model_folder,
        DEMO_VLM_SPEC: demo_vlm_folder,
        TINY_MODEL_SPEC: tiny_model_folder,
    }
    folder = folders[spec](cache_dir)
    if is_complete(folder):
        return check_model_folder(spec, folder, style, f"built-in, cached in {folder}")
    layers, width, images = BUILT_IN_SHAPES[spec]
    where = f"built-in, built into {folder} on first use"
    return ModelCheck(ModelFacts(spec, where, layers, width, images, folder))


def check_model(
    spec: str,
    style: PromptStyle,
    cache_dir: str | Path | None = None,
    hf_cache_dir: str | Path | None = None,
) -> ModelCheck:
    """Resolves ``spec`` as the model loader would (a built-in spec, a local folder, else an HF id that must
    be in the local HF cache) and checks its files, without network access and without loading weights."""
    if spec in BUILT_IN_SHAPES:
        return _built_in(spec, style, cache_dir)
    path = Path(spec).expanduser()
    if path.is_dir():
        return check_model_folder(spec, path, style, "local folder")
    if path.exists():
        return ModelCheck().fail(spec, None, "not a folder (a model spec is an HF id or a local folder)")
    if path.is_absolute() or spec.startswith((".", "~")) or spec.count("/") > 1:
        return ModelCheck().fail(spec, None, "no such model folder")
    snapshot = _cached_snapshot(spec, hf_cache_dir)
    if snapshot is None:
        return ModelCheck().fail(spec, None, how_to_obtain(spec))
    return check_model_folder(spec, snapshot, style, f"HF cache: {snapshot}")
