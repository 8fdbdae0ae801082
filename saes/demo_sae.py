"""Owns the demo SAEs: sae-lens JumpReLU SAEs (Gemma Scope 2's quadratic L0 loss) trained on layer-9
``resid_post`` of the demo bank's prompts, in Gemma Scope 2 format with their measured FVU, L0 and dead
fraction. One reads the text-only Gemma 3 270M (six-shot and chat prompts, text positions); the other reads
the demo VLM (chat prompts showing each question's picture). Which positions feed the demo VLM's SAE is a
choice: every text position but BOS and the image markers, **and** the image soft tokens, each picture's
once, so that features can be read on image patches too (4,704 of its 25,922 training tokens: 96 pictures).

Training is bit-identical across thread counts on one CPU kernel, but not across kernels: retrained with
AVX2 kernels instead of AVX-512 the dictionary diverges (median best-match decoder cosine 0.74). So the SAE
the demo study uses ships with the package (``saes/data/demo_sae``, 10 MB, with the environment it was
trained in) and every machine decodes with the same weights. ``--rebuild`` trains it again into the
workbench cache and compares it with the shipped one feature by feature; ``--ship`` then replaces it.

Run: ``.venv/bin/python -m saes.demo_sae [--model demo-vlm] [--rebuild [--ship] [--features 1,2,3]]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from jaxtyping import Float
from PIL import Image
from sae_lens import JumpReLUTrainingSAE, JumpReLUTrainingSAEConfig, SAETrainer
from sae_lens.config import SAETrainerConfig
from safetensors.torch import load_file
from torch import Tensor

from flipbank.atomic_folder import build_folder_atomically, is_complete
from flipbank.cache_dir import workbench_cache_dir
from flipbank.demo_bank import demo_image_root
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE
from interp.provenance import numeric_environment
from saes.activation_corpus import (
    bank_questions,
    collect_activations,
    question_images,
    shuffled_batches,
    split_questions,
)
from saes.gemma_scope_format import CONFIG_FILE, PARAMS_FILE, is_gemma_scope_folder, save_gemma_scope_folder
from saes.sae_agreement import SAEAgreement, compare_saes
from saes.sae_quality import SAEQuality, measure_quality
from saes.token_mask import TokenFilter

METRICS_FILE = "training_metrics.json"
DEMO_SAE_VERSION = 1
#: The demo SAE as trained for ``DemoSAEConfig()`` (collect 192 s + train 235 s on 2 CPU cores).
SHIPPED_DEMO_SAE = Path(__file__).parent / "data" / "demo_sae"
#: The demo VLM's SAE as trained for ``DEMO_VLM_SAE_CONFIG``.
SHIPPED_DEMO_VLM_SAE = Path(__file__).parent / "data" / "demo_vlm_sae"
_HF_NAMES = {"gemma3-270m": "google/gemma-3-270m"}


@dataclass(frozen=True)
class DemoSAEConfig:
    """What the demo SAE is trained on and how. ``lr_end`` must be given (sae-lens requires it for decay)."""

    model_spec: str = "gemma3-270m"
    layer: int = 9
    d_sae: int = 2048
    target_l0: float = 32.0
    l0_coefficient: float = 0.3
    l0_warm_up_steps: int = 300
    jumprelu_init_threshold: float = 0.1
    jumprelu_bandwidth: float = 0.05
    pre_act_loss_coefficient: float | None = 3e-4
    dead_feature_window: int = 100
    lr: float = 2e-3
    lr_end: float = 2e-4
    lr_warm_up_steps: int = 50
    batch_size: int = 512
    total_training_samples: int = 600_000
    eval_fraction: float = 0.1
    seed: int = 0
    templates: tuple[str, ...] = ("chat", "few_shot")
    prompt_batch_size: int = 32
    #: show each question's demo-bank picture and keep the image soft tokens (once per picture)
    images: bool = False

    @property
    def folder_name(self) -> str:
        return f"demo-sae-{self.model_spec}-layer{self.layer}-w{self.d_sae}-v{DEMO_SAE_VERSION}"


#: The demo VLM's SAE: chat prompts with pictures (the demo VLM answers chat prompts), image tokens kept.
DEMO_VLM_SAE_CONFIG = DemoSAEConfig(model_spec="demo-vlm", templates=("chat",), images=True)
_SHIPPED = {DemoSAEConfig(): SHIPPED_DEMO_SAE, DEMO_VLM_SAE_CONFIG: SHIPPED_DEMO_VLM_SAE}


def demo_sae_config(model_spec: str) -> DemoSAEConfig:
    """The demo SAE configuration for a model spec: the demo VLM's for ``demo-vlm``, else the 270M's (which
    also serves other Gemma 3 models with d_model 640)."""
    return DEMO_VLM_SAE_CONFIG if model_spec == DEMO_VLM_SAE_CONFIG.model_spec else DemoSAEConfig()


def shipped_demo_sae(config: DemoSAEConfig) -> Path | None:
    """The folder shipped with the package for ``config``, if one is."""
    return _SHIPPED.get(config)


@dataclass
class TrainingReport:
    """What training did and how well the SAE reconstructs held-out activations."""

    config: dict[str, object]
    architecture: str
    seconds_collecting: float
    seconds_training: float
    n_train_tokens: int
    held_out: SAEQuality
    train: SAEQuality
    per_template: dict[str, SAEQuality] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=numeric_environment)  # what decides the rounding


_TEMPLATES = {"chat": CHAT_TEMPLATE, "few_shot": FEW_SHOT_TEMPLATE}


def _training_sae(config: DemoSAEConfig, d_in: int, scaled: Tensor) -> JumpReLUTrainingSAE:
    sae = JumpReLUTrainingSAE(
        JumpReLUTrainingSAEConfig(
            d_in=d_in,
            d_sae=config.d_sae,
            apply_b_dec_to_input=False,  # Gemma Scope 2 format: no input-side b_dec
            normalize_activations="none",  # we scale inputs ourselves and fold the factor in afterwards
            jumprelu_sparsity_loss_mode="quadratic",
            target_l0=config.target_l0,
            l0_coefficient=config.l0_coefficient,
            l0_warm_up_steps=config.l0_warm_up_steps,
            jumprelu_init_threshold=config.jumprelu_init_threshold,
            jumprelu_bandwidth=config.jumprelu_bandwidth,
            pre_act_loss_coefficient=config.pre_act_loss_coefficient,
        )
    )
    with torch.no_grad():
        sae.b_dec.copy_(scaled.mean(0))  # start the reconstruction at the data mean
    return sae


def train_sae(config: DemoSAEConfig, activations: Float[Tensor, "token d_in"]) -> JumpReLUTrainingSAE:
    """Train a JumpReLU SAE with sae-lens's ``SAETrainer`` on ``activations`` (float32, CPU). Inputs are
    scaled so that their mean norm is √d_in (as sae-lens's ``expected_average_only_in`` does), and the
    factor is folded into the weights afterwards with sae-lens's ``fold_activation_norm_scaling_factor``,
    so the result reads raw ``resid_post``."""
    torch.manual_seed(config.seed)
    d_in = activations.shape[1]
    scale = d_in**0.5 / float(activations.norm(dim=-1).mean())
    scaled = activations * scale
    sae = _training_sae(config, d_in, scaled)
    trainer_config = SAETrainerConfig(
        total_training_samples=config.total_training_samples,
        train_batch_size_samples=config.batch_size,
        lr=config.lr,
        lr_end=config.lr_end,
        lr_scheduler_name="cosineannealing",
        lr_warm_up_steps=config.lr_warm_up_steps,
        dead_feature_window=config.dead_feature_window,
        device="cpu",
    )
    trainer = SAETrainer(trainer_config, sae, shuffled_batches(scaled, config.batch_size, config.seed))
    trained = trainer.fit()
    trained.fold_activation_norm_scaling_factor(scale)
    return trained.eval()


def _collect(
    handle: ModelHandle, config: DemoSAEConfig, questions: list[str], pictures: Mapping[str, Image.Image]
) -> dict[str, Tensor]:
    images = [pictures[question] for question in questions] if config.images else None
    token_filter = TokenFilter(keep_image_tokens=config.images)
    return {
        name: collect_activations(
            handle,
            config.layer,
            questions,
            _TEMPLATES[name],
            token_filter,
            batch_size=config.prompt_batch_size,
            progress=True,
            images=images,
        )
        for name in config.templates
    }


def build_demo_sae(
    destination: Path,
    handle: ModelHandle,
    config: DemoSAEConfig,
    questions: dict[str, list[str]] | None = None,
    pictures: Mapping[str, Image.Image] | None = None,
) -> TrainingReport:
    """Collect activations, train, measure and write the Gemma Scope 2 folder plus ``training_metrics.json``.
    ``questions`` (question id → texts) defaults to the demo bank's originals and paraphrases; with
    ``config.images``, ``pictures`` (text → picture) defaults to the demo bank's."""
    bank = questions if questions is not None else bank_questions()
    if pictures is None:
        pictures = question_images(demo_image_root()) if config.images else {}
    train_questions, eval_questions = split_questions(bank, config.eval_fraction, config.seed)
    start = time.perf_counter()
    train_sets, eval_sets = (
        _collect(handle, config, train_questions, pictures),
        _collect(handle, config, eval_questions, pictures),
    )
    collected = time.perf_counter()
    train_activations = torch.cat(list(train_sets.values()))
    sae = train_sae(config, train_activations)
    trained = time.perf_counter()
    report = TrainingReport(
        config=asdict(config),
        architecture="jumprelu (sae-lens JumpReLUTrainingSAE, quadratic L0 loss)",
        seconds_collecting=collected - start,
        seconds_training=trained - collected,
        n_train_tokens=int(train_activations.shape[0]),
        held_out=measure_quality(sae, torch.cat(list(eval_sets.values()))),
        train=measure_quality(sae, train_activations),
        per_template={name: measure_quality(sae, acts) for name, acts in eval_sets.items()},
    )
    model_name = _HF_NAMES.get(config.model_spec, config.model_spec)
    save_gemma_scope_folder(sae, destination, config.layer, model_name, {"workbench_demo_sae": True})
    (destination / METRICS_FILE).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def demo_sae_folder(cache_dir: str | Path | None = None, config: DemoSAEConfig = DemoSAEConfig()) -> Path:
    """Where the demo SAE for ``config`` lives (or will) in the workbench cache."""
    return workbench_cache_dir(cache_dir) / config.folder_name


def ensure_demo_sae(
    cache_dir: str | Path | None = None,
    config: DemoSAEConfig = DemoSAEConfig(),
    handle: ModelHandle | None = None,
) -> Path:
    """The shipped demo SAE for a shipped ``config`` (the 270M's, the demo VLM's); any other configuration
    is trained once (minutes) into the cache, atomically, and later calls return its folder at once."""
    shipped = shipped_demo_sae(config)
    if shipped is not None and is_gemma_scope_folder(shipped):
        return shipped
    return build_demo_sae_in_cache(cache_dir, config, handle)


def build_demo_sae_in_cache(
    cache_dir: str | Path | None = None,
    config: DemoSAEConfig = DemoSAEConfig(),
    handle: ModelHandle | None = None,
) -> Path:
    """Train the demo SAE for ``config`` into the workbench cache unless it is already there."""
    folder = demo_sae_folder(cache_dir, config)
    if is_complete(folder):
        return folder
    model = handle if handle is not None else load_model(config.model_spec, device="cpu", dtype="float32")
    return build_folder_atomically(
        folder, lambda staging: print(_describe(build_demo_sae(staging, model, config)))
    )


def _describe(report: TrainingReport) -> str:
    held = report.held_out
    return (
        f"demo SAE ({report.architecture}): collected {report.n_train_tokens} training tokens in "
        f"{report.seconds_collecting:.0f}s, trained in {report.seconds_training:.0f}s; "
        f"held-out FVU {held.fvu:.4f}, L0 {held.mean_l0:.1f}, dead {held.dead_fraction:.1%} "
        f"({held.n_tokens} tokens)"
    )


def _weights(folder: Path) -> tuple[Tensor, Tensor]:
    params = load_file(str(folder / PARAMS_FILE))
    return params["w_dec"], params["w_enc"]


def rebuild_and_compare(
    features: list[int],
    ship: bool,
    cache_dir: str | Path | None = None,
    config: DemoSAEConfig = DemoSAEConfig(),
) -> SAEAgreement | None:
    """Train a shipped demo SAE afresh into the cache, compare it with the shipped one on ``features`` (and
    overall; None when none is shipped yet), and with ``ship`` copy it over the shipped files."""
    shipped = shipped_demo_sae(config)
    if shipped is None:
        raise ValueError(f"no demo SAE is shipped for {config}")
    folder = demo_sae_folder(cache_dir, config)
    if is_complete(folder):
        shutil.rmtree(folder)
    build_demo_sae_in_cache(cache_dir, config)
    had_one = is_gemma_scope_folder(shipped)
    agreement = compare_saes(*_weights(shipped), *_weights(folder), features) if had_one else None
    if ship:
        shipped.mkdir(parents=True, exist_ok=True)
        for name in (CONFIG_FILE, PARAMS_FILE, METRICS_FILE):
            shutil.copyfile(folder / name, shipped / name)
    return agreement


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--model", default="gemma3-270m", help="the model spec whose demo SAE to use")
    parser.add_argument("--rebuild", action="store_true", help="train again and compare with the shipped SAE")
    parser.add_argument("--ship", action="store_true", help="with --rebuild: replace the shipped SAE")
    parser.add_argument(
        "--features", default="", help="comma-separated features to compare (e.g. the top ones)"
    )
    arguments = parser.parse_args(argv)
    config = demo_sae_config(arguments.model)
    if arguments.rebuild:
        features = [int(part) for part in arguments.features.split(",") if part.strip()]
        agreement = rebuild_and_compare(features, arguments.ship, arguments.cache_dir, config)
        summary = "nothing shipped before" if agreement is None else agreement.summary()
        print(f"rebuilt vs shipped demo SAE: {summary}")
        return
    folder = ensure_demo_sae(arguments.cache_dir, config)
    print(f"demo SAE: {folder}")
    print((folder / METRICS_FILE).read_text())


if __name__ == "__main__":
    main()
