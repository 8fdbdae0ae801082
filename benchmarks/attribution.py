"""Attribution-patching benchmark: AtP over every feature of the SAE (one forward and backward per pair) and
AtP* with ``--steps`` integrated-gradient points, against the real delta-only patch of each of AtP's top
``--features`` candidates one by one, side by side in one run on the same pairs: the time of each, the
ratios, and the Spearman r and top-10 overlap of each estimate's ranking with the real patches'.

Run: ``.venv/bin/python -m benchmarks.attribution [--model gemma3-270m] [--pairs 16] [--features 100]
[--steps 4] [--rounds 5]``. AtP and AtP* are timed in interleaved rounds (median, min–max); the 100 real
patches, a hundred forward passes in themselves, once."""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from experiments.steps.attribution_study import TOP_OVERLAP, real_patch_effects
from flipbank.demo_bank import demo_image_root, load_demo_bank
from flipbank.images import load_image
from flipbank.statistics import spearman
from interp.loading import load_model
from interp.prompt_pair import PromptPair
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, PromptTemplate
from saes.attribution import attribution_patching
from saes.demo_sae import DEMO_VLM_SAE_CONFIG, demo_sae_config, ensure_demo_sae
from saes.loading import load_sae


def _pairs(model_spec: str, count: int) -> tuple[list[PromptPair], PromptTemplate]:
    """Each demo-bank original against its first paraphrase: text with the six-shot prompt on the 270M,
    the question's own picture with the chat prompt on the demo VLM."""
    if model_spec != DEMO_VLM_SAE_CONFIG.model_spec:
        questions = load_demo_bank()[:count]
        return [
            PromptPair(PromptInput(q.original_question), PromptInput(q.paraphrases[0].text))
            for q in questions
        ], FEW_SHOT_TEMPLATE
    questions = load_demo_bank(image_root=demo_image_root())[:count]
    pictures = [load_image(q.image) if q.image is not None else None for q in questions]
    return [
        PromptPair(PromptInput(q.original_question, picture), PromptInput(q.paraphrases[0].text, picture))
        for q, picture in zip(questions, pictures, strict=True)
    ], CHAT_TEMPLATE


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--steps", type=int, default=4, help="AtP*'s integrated-gradient points")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of AtP and AtP* (median kept)")
    arguments = parser.parse_args()
    handle = load_model(arguments.model, device="cpu", dtype="float32")
    loaded = load_sae(ensure_demo_sae(config=demo_sae_config(arguments.model), handle=handle), handle)
    pairs, template = _pairs(arguments.model, arguments.pairs)
    attribution_patching(handle, loaded, pairs, template)  # warm-up: first-call allocations
    seconds_atp, seconds_ig = [], []
    for _ in range(arguments.rounds):  # interleaved, so load that hits a round hits both
        started = time.perf_counter()
        attribution = attribution_patching(handle, loaded, pairs, template)
        seconds_atp.append(time.perf_counter() - started)
        started = time.perf_counter()
        integrated = attribution_patching(handle, loaded, pairs, template, steps=arguments.steps)
        seconds_ig.append(time.perf_counter() - started)
    chosen = attribution.ranking()[: arguments.features]
    started = time.perf_counter()
    real = real_patch_effects(handle, loaded, pairs, chosen, template, attribution.paraphrase_margins)
    seconds_patch = time.perf_counter() - started
    real_order = torch.argsort(torch.tensor(real).abs(), descending=True)[:TOP_OVERLAP].tolist()
    sae = f"SAE {loaded.source} (d_sae {loaded.d_sae}, layer {loaded.layer})"
    print(f"{arguments.model}, {sae}, {len(pairs)} pairs, fp32, {torch.get_num_threads()} threads")
    print(f"real patch of AtP's top {len(chosen)} one by one: {seconds_patch:8.2f} s")
    rows = (("AtP", attribution, seconds_atp), (f"AtP* ({arguments.steps} steps)", integrated, seconds_ig))
    for name, estimate, times in rows:
        seconds = statistics.median(times)
        estimated = estimate.mean_effect()[chosen]
        estimated_order = torch.argsort(estimated.abs(), descending=True)[:TOP_OVERLAP].tolist()
        overlap = len(set(estimated_order) & set(real_order))
        correlation = spearman(estimated.numpy(), real)
        print(
            f"{name:>16} over all {loaded.d_sae} features: {seconds:7.2f} s "
            f"({min(times):.2f}–{max(times):.2f} over {len(times)} rounds), "
            f"{seconds_patch / seconds:6.1f}× faster; Spearman r {correlation.r:.3f} "
            f"[{correlation.ci.low:.3f}, {correlation.ci.high:.3f}], top-{TOP_OVERLAP} overlap {overlap}"
        )


if __name__ == "__main__":
    main()
