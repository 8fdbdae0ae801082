"""What a run will cost, on paper: forward passes per step (prompts × image conditions for mining, the
README's per-pair costs for the rest) and an estimated time from a seconds-per-forward figure.

The time is an estimate: a batched forward of MedGemma-4B on one recent GPU takes a few hundredths of a
second per prompt, the 270M demo model on 2 CPU cores about the same with its shared prefix. Steps that work
on the FlipBank are bounded by the number of paraphrase pairs (a FlipBank as large as every pair), so they
are upper bounds until mining has found the flips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from experiments.commands.study import TRANSFER_PROMPTS
from experiments.steps.study_context import question_subset
from experiments.study_config import StudyConfig
from flipbank.records import QuestionRecord

#: Default seconds per forward pass of the estimate (override with ``--seconds-per-forward``).
DEFAULT_SECONDS_PER_FORWARD = 0.05
#: Clamping mines its questions once per configuration (baseline, clamp, random clamp, normalisation, both).
CLAMP_CONFIGURATIONS = 5
#: Latency: 5 interleaved rounds of about 6 methods at batch sizes 1 and 16.
LATENCY_FORWARDS = 60


@dataclass(frozen=True)
class StepCost:
    """The forward passes of one step; ``bound`` when the number depends on the FlipBank (an upper bound).
    ``decode_steps`` counts the cached greedy-decoding steps after the first answer token (at most)."""

    step: str
    forwards: int
    bound: bool = False
    decode_steps: int = 0


def prompt_count(questions: Sequence[QuestionRecord], shard_index: int = 0, shard_count: int = 1) -> int:
    """Originals plus paraphrases of this shard's questions."""
    mine = [q for i, q in enumerate(questions) if i % shard_count == shard_index]
    return sum(1 + len(question.paraphrases) for question in mine)


def _mining(step: str, prompts: int, config: StudyConfig, repeats: int = 1) -> StepCost:
    forwards = repeats * prompts * len(config.image_conditions)
    greedy = config.answer_source == "greedy" and config.max_new_tokens > 1
    return StepCost(step, forwards, decode_steps=forwards * (config.max_new_tokens - 1) if greedy else 0)


#: Features the attribution step patches for real to check its estimates.
ATTRIBUTION_CANDIDATES = 30


def _takes_images(config: StudyConfig) -> bool:
    return any(condition.value != "none" for condition in config.image_conditions)


def _comparison(config: StudyConfig, questions: list[QuestionRecord]) -> StepCost:
    """Every configuration mines the evaluation split, cut to ``questions_per_set`` (extra sets are not
    counted: a bound from below); an adapter trained here costs three forward-equivalents (forward +
    backward) per training prompt."""
    comparison = config.comparison
    if comparison is None:
        return StepCost("comparison", 0)
    evaluated = comparison.eval_fraction
    if comparison.questions_per_set is not None and questions:
        evaluated = min(evaluated, comparison.questions_per_set / len(questions))
    prompts = prompt_count(questions)
    mined = _mining("comparison", round(prompts * evaluated), config, len(comparison.arms))
    pairs = sum(len(q.paraphrases) for q in questions) * (1 - comparison.eval_fraction)
    if comparison.max_training_pairs is not None:
        pairs = min(pairs, comparison.max_training_pairs)
    trained = sum(arm.train_layers is not None for arm in comparison.arms)
    training = round(trained * comparison.training.epochs * pairs * 2 * 3)
    return StepCost("comparison", mined.forwards + training, decode_steps=mined.decode_steps)


def _confusion(config: StudyConfig) -> StepCost:
    """Per pair, both images answered once in each mode (``mc`` decodes up to 31 more tokens), captured once
    for Δf, and for each of the two image-to-image patches scored clean (2), captured (1) and patched (1);
    the demo set's pair count (a dataset file's is counted when it is read)."""
    confusion = config.mediconfusion
    if confusion is None or not _takes_images(config) or confusion.dataset is not None:
        return StepCost("mediconfusion", 0)
    per_pair = 2 * len(confusion.modes) + 2 + 2 * 4
    decoding = 2 * 31 * confusion.n_pairs if "mc" in confusion.modes else 0
    return StepCost("mediconfusion", per_pair * confusion.n_pairs, decode_steps=decoding)


def _uncertainty(config: StudyConfig, questions: list[QuestionRecord]) -> StepCost:
    """One prompt forward per original for the samples (their cache is copied) and one for the verbalized
    pass; each sample and the verbalized answer decode up to ``max_new_tokens`` steps."""
    settings = config.uncertainty
    if settings is None:
        return StepCost("uncertainty", 0)
    originals = len(questions) if settings.questions is None else min(settings.questions, len(questions))
    passes = 1 + settings.verbalized
    decoding = originals * (settings.n_samples * settings.max_new_tokens + settings.verbalized * 4)
    return StepCost("uncertainty", originals * passes, decode_steps=decoding)


def _nota(config: StudyConfig) -> StepCost:
    """Each item clean and under each variant, one forward each (the demo set's item count; a file's is
    counted when it is read); greedy scoring decodes up to 32 tokens per prompt besides."""
    settings = config.nota
    if settings is None or (settings.items is None and not _takes_images(config)):
        return StepCost("nota", 0)
    prompts = 0 if settings.items is not None else settings.n_items * (1 + len(settings.variants))
    decoding = 32 * prompts if settings.scoring == "greedy" else 0
    return StepCost("nota", prompts * (2 if decoding else 1), decode_steps=decoding)


def step_costs(
    config: StudyConfig,
    questions: list[QuestionRecord],
    steps: Sequence[str],
    n_layers: int,
    shard: tuple[int, int] = (0, 1),
) -> list[StepCost]:
    """The cost of each of ``steps`` over ``questions`` (for mining, only shard ``shard[0]`` of
    ``shard[1]``). The layer sweep patches each of the configured ``sweep_layers`` (else each of the
    ``n_layers`` layers) and the SAE's feature component, one forward each per sweep pair."""
    pairs = sum(len(question.paraphrases) for question in questions)
    controls = min(config.control_pairs, pairs)
    sweep = pairs if config.sweep_pairs is None else min(config.sweep_pairs, pairs)
    swept = n_layers if config.sweep_layers is None else len(config.sweep_layers)
    clamp = prompt_count(question_subset(questions, config.clamp_questions, config.seed))
    costs = {
        "flip_study": lambda: _mining("flip_study", prompt_count(questions, *shard), config),
        "grounding": lambda: StepCost("grounding", len(questions) if _takes_images(config) else 0, True),
        "features": lambda: StepCost(
            "features", 3 * min(TRANSFER_PROMPTS, 2 * pairs) + pairs + controls, True
        ),
        "attribution": lambda: StepCost("attribution", (3 + ATTRIBUTION_CANDIDATES) * sweep, True),
        "patching": lambda: StepCost("patching", 4 * pairs + controls, True),
        "layer_sweep": lambda: StepCost("layer_sweep", (swept + 1) * sweep, True),
        "clamping": lambda: _mining("clamping", clamp, config, CLAMP_CONFIGURATIONS),
        "comparison": lambda: _comparison(config, questions),
        "mediconfusion": lambda: _confusion(config),
        "uncertainty": lambda: _uncertainty(config, questions),
        "nota": lambda: _nota(config),
        "latency": lambda: StepCost("latency", LATENCY_FORWARDS),
    }
    return [costs[step]() for step in steps if step in costs]


def format_duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3 h 05 min``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def describe_costs(costs: Sequence[StepCost], seconds_per_forward: float) -> list[str]:
    """One line per step and a total, with the time estimated at ``seconds_per_forward``."""
    lines = []
    for cost in costs:
        decoding = f" + ≤ {cost.decode_steps:,} decoding steps" if cost.decode_steps else ""
        prefix = "≤ " if cost.bound else ""
        lines.append(f"{cost.step:<12} {prefix}{cost.forwards:,} forwards{decoding}")
    total = sum(cost.forwards + cost.decode_steps for cost in costs)
    estimate = format_duration(total * seconds_per_forward)
    bounded = any(cost.bound or cost.decode_steps for cost in costs)
    at_most, bound = ("≤ ", "at most ") if bounded else ("", "")
    lines.append(
        f"{'total':<12} {at_most}{total:,} forward passes, {bound}about {estimate} at "
        f"{seconds_per_forward} s per forward (an estimate; pass --seconds-per-forward with your "
        "measured figure)"
    )
    return lines
