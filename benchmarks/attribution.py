"""Attribution-patching benchmark: AtP over every feature of the SAE (one forward and backward per pair)
against the real delta-only patch of each of its top ``--features`` candidates one by one, side by side in
one run on the same pairs: the time of each, their ratio, and the Spearman r and top-10 overlap of the two
rankings.

Run: ``.venv/bin/python -m benchmarks.attribution [--model gemma3-270m] [--pairs 16] [--features 100]``"""

from __future__ import annotations

import argparse
import time

import torch

from experiments.attribution_study import TOP_OVERLAP, real_patch_effects
from flipbank.demo_bank import load_demo_bank
from flipbank.statistics import spearman
from interp.loading import load_model
from interp.patching import PatchPair
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput
from saes.attribution import attribution_patching
from saes.demo_sae import ensure_demo_sae
from saes.loading import load_sae


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--features", type=int, default=100)
    arguments = parser.parse_args()
    handle = load_model(arguments.model, device="cpu", dtype="float32")
    loaded = load_sae(ensure_demo_sae(handle=handle), handle)
    template = FEW_SHOT_TEMPLATE if arguments.model == "gemma3-270m" else CHAT_TEMPLATE
    questions = load_demo_bank()[: arguments.pairs]
    pairs = [
        PatchPair(PromptInput(q.original_question), PromptInput(q.paraphrases[0].text)) for q in questions
    ]
    started = time.perf_counter()
    attribution = attribution_patching(handle, loaded, pairs, template)
    seconds_atp = time.perf_counter() - started
    chosen = attribution.ranking()[: arguments.features]
    started = time.perf_counter()
    real = real_patch_effects(handle, loaded, pairs, chosen, template, attribution.paraphrase_margins)
    seconds_patch = time.perf_counter() - started
    estimated = attribution.mean_effect()[chosen]
    real_order = torch.argsort(torch.tensor(real).abs(), descending=True)[:TOP_OVERLAP].tolist()
    overlap = len(set(range(TOP_OVERLAP)) & set(real_order))
    correlation = spearman(estimated.numpy(), real)
    sae = f"SAE {loaded.source} (d_sae {loaded.d_sae}, layer {loaded.layer})"
    print(f"{arguments.model}, {sae}, {len(pairs)} pairs, fp32, {torch.get_num_threads()} threads")
    print(f"AtP over all {loaded.d_sae} features:        {seconds_atp:8.2f} s")
    print(f"real patch of the top {len(chosen)} one by one:  {seconds_patch:8.2f} s")
    print(f"ratio (patching / AtP):                   {seconds_patch / seconds_atp:8.1f}×")
    print(
        f"Spearman r (estimated vs real, top {len(chosen)}): {correlation.r:.3f} "
        f"[{correlation.ci.low:.3f}, {correlation.ci.high:.3f}]; top-{TOP_OVERLAP} overlap {overlap}"
    )


if __name__ == "__main__":
    main()
