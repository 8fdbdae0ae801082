"""The demo vision-language model ``demo-vlm``: MedGemma's architecture around the real Gemma 3 270M, with a
vision tower, projector and LoRA trained here and shipped with the package (`SHIPPED_DEMO_VLM`, rebuilt by
``python -m experiments.stand_ins.demo_vlm_build``). On first use the shipped weights are merged into a full
model folder in the workbench cache, named by their content hash; later loads take seconds.

>>> from interp import load_model
>>> with torch.inference_mode():  # doctest: +SKIP
...     handle = load_model("demo-vlm")
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from torch import nn

from flipbank.atomic_folder import build_folder_atomically, is_complete
from flipbank.cache_dir import workbench_cache_dir
from interp.demo_model import ensure_demo_model
from interp.demo_vlm_architecture import untrained_demo_vlm

DEMO_VLM_SPEC = "demo-vlm"
SHIPPED_DEMO_VLM = Path(__file__).parent / "data" / "demo_vlm"
VISION_FILE = "vision.safetensors"
TRAINING_LOG_FILE = "training_log.json"
_SHIPPED_FILES = ("adapter_config.json", "adapter_model.safetensors", VISION_FILE, TRAINING_LOG_FILE)
_IMAGE_SIDE = ("model.vision_tower.", "model.multi_modal_projector.")


def image_side_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The vision tower's and projector's weights (what stage 1 and 2 change besides the LoRA)."""
    return {
        name.removeprefix("base_model.model."): tensor.detach().contiguous()
        for name, tensor in model.state_dict().items()
        if name.removeprefix("base_model.model.").startswith(_IMAGE_SIDE)
    }


def save_trained(model: PeftModel, folder: Path, log: dict[str, object]) -> None:
    """Write a trained model's small parts: the PEFT adapter, the image side and the training log."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    (folder / "README.md").unlink(missing_ok=True)  # PEFT's empty model card
    save_file(image_side_state(model), str(folder / VISION_FILE))
    save_trained_log(folder, log)


def save_trained_log(folder: Path, log: dict[str, object]) -> None:
    """Write (or overwrite) a trained model's log."""
    (folder / TRAINING_LOG_FILE).write_text(json.dumps(log, indent=2, default=str) + "\n")


class DemoVLMNotTrainedError(FileNotFoundError):
    """Raised when the trained parts of the demo VLM are not there; says how to train them."""


def missing_trained_parts(folder: Path = SHIPPED_DEMO_VLM) -> str | None:
    """Why ``folder`` cannot be assembled into the demo VLM, or None when it can."""
    missing = [name for name in _SHIPPED_FILES if not (folder / name).is_file()]
    if not missing:
        return None
    return (
        f"the demo VLM's trained parts are missing from {folder} ({', '.join(missing)}); train them with "
        "`python -m experiments.stand_ins.demo_vlm_build --ship` (about an hour on 2 CPU cores)"
    )


def weights_fingerprint(folder: Path = SHIPPED_DEMO_VLM) -> str:
    """A short sha256 over the shipped files: it names the cached model folder."""
    problem = missing_trained_parts(folder)
    if problem is not None:
        raise DemoVLMNotTrainedError(problem)
    digest = hashlib.sha256()
    for name in _SHIPPED_FILES:
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def assemble_demo_vlm(trained: Path, text_folder: Path, destination: Path) -> None:
    """Merge the trained parts in ``trained`` into the 270M-based architecture and save a plain
    ``Gemma3ForConditionalGeneration`` folder (weights, processor, training log) at ``destination``."""
    model, processor = untrained_demo_vlm(text_folder)
    image_side = load_file(str(trained / VISION_FILE))
    missing = set(image_side_state(model)) - set(image_side)
    if missing:
        raise ValueError(f"{trained / VISION_FILE} lacks {sorted(missing)[:3]}")
    model.load_state_dict(image_side, strict=False)
    merged = PeftModel.from_pretrained(model, str(trained)).merge_and_unload()
    merged.save_pretrained(destination, safe_serialization=True)
    processor.save_pretrained(destination)
    shutil.copy(trained / TRAINING_LOG_FILE, destination / TRAINING_LOG_FILE)


def demo_vlm_folder(cache_dir: str | Path | None = None, trained: Path = SHIPPED_DEMO_VLM) -> Path:
    """Where the merged model of ``trained`` lives in the cache."""
    return workbench_cache_dir(cache_dir) / f"{DEMO_VLM_SPEC}-{weights_fingerprint(trained)}"


def ensure_demo_vlm(cache_dir: str | Path | None = None, trained: Path = SHIPPED_DEMO_VLM) -> Path:
    """Merge the shipped weights once (about half a minute); later calls return at once."""
    folder = demo_vlm_folder(cache_dir, trained)
    if is_complete(folder):
        return folder
    text_folder = ensure_demo_model(cache_dir)
    print(f"Assembling the demo VLM into {folder} (once)…")
    return build_folder_atomically(folder, lambda staging: assemble_demo_vlm(trained, text_folder, staging))


def training_log(folder: Path) -> dict[str, object]:
    """The training log saved with a demo VLM (shipped folder or cached model folder)."""
    loaded = json.loads((folder / TRAINING_LOG_FILE).read_text())
    assert isinstance(loaded, dict)
    return loaded
