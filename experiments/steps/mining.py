"""Runs a model over questions × paraphrases × image conditions and stores one ``MiningRow`` per prompt,
batched, with a progress bar, resumable after an interruption and stamped with provenance."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

from flipbank.answers import parse_answer
from flipbank.images import BlankKind, ImageCondition, blank_image, load_image
from flipbank.mining_plan import (
    MiningConfig,
    MiningJob,
    blank_reference,
    plan_jobs,
    run_fingerprint,
)
from flipbank.mining_store import MiningStore
from flipbank.records import MiningRow, QuestionRecord
from interp.batching import map_batches
from interp.forward import PromptScore, scores_from_logits
from interp.generation import generate_answers
from interp.handle import ModelHandle
from interp.image_prefix import ImageBlockCache
from interp.prompts import PromptInput, PromptTemplate
from interp.provenance import collect_provenance, write_provenance
from interp.shared_prefix import SharedPrefix, prefix_for_prompts

ImageLoader = Callable[[str], Image.Image]


class NonFiniteMarginError(FloatingPointError):
    """Raised when a prompt's logits are NaN or infinite; names the offending prompt."""


@dataclass(frozen=True)
class MiningResult:
    """Where a finished run's rows are, and how many were computed now versus found on disk."""

    rows_path: Path
    computed: int
    reused: int


def default_image_loader(blank_kind: BlankKind, seed: int) -> ImageLoader:
    """Loads image files by path and renders ``blank:<kind>`` references; caches each image once."""

    @lru_cache(maxsize=512)
    def load(reference: str) -> Image.Image:
        if reference == blank_reference(blank_kind):
            return blank_image(blank_kind, seed=seed)
        return load_image(reference)

    return load


def _prompt(job: MiningJob, load: ImageLoader) -> PromptInput:
    return PromptInput(job.text, None if job.image is None else load(job.image))


def _row(job: MiningJob, answer: str, score: PromptScore, nll: float, tokens: int) -> MiningRow:
    if not (math.isfinite(score.margin) and math.isfinite(score.p_yes) and math.isfinite(score.p_no)):
        raise NonFiniteMarginError(
            f"non-finite margin {score.margin} for question {job.question.question_id!r} "
            f"variant {job.variant_index} ({job.condition.value}): {job.text!r}"
        )
    parsed = parse_answer(answer, fallback_margin=score.margin)
    question = job.question
    return MiningRow(
        question_id=question.question_id,
        variant_index=job.variant_index,
        prompt_text=job.text,
        phenomenon=None if job.variant_index == 0 else question.paraphrases[job.variant_index - 1].phenomenon,
        image_condition=job.condition,
        image=job.image,
        ground_truth=question.answer,
        finding=question.finding,
        question_type=question.question_type,
        answer_text=answer,
        parsed_answer=None if parsed.label is None else parsed.label.value,
        exclusion_reason=parsed.exclusion,
        label_source=parsed.source,
        margin=score.margin,
        p_yes=min(score.p_yes, 1.0),
        p_no=min(score.p_no, 1.0),
        greedy_nll=nll,
        greedy_tokens=tokens,
    )


def mine_batch(
    handle: ModelHandle,
    jobs: Sequence[MiningJob],
    template: PromptTemplate,
    settings: MiningConfig,
    load: ImageLoader,
    prefix: SharedPrefix | None = None,
    reuse_image_prefix: bool = False,
    image_blocks: ImageBlockCache | None = None,
) -> list[MiningRow]:
    """Answer and score one batch of jobs (all of one image condition); text prompts run after ``prefix``
    when given, image prompts after their image block with ``reuse_image_prefix`` (kept across batches in
    ``image_blocks``)."""
    prompts = [_prompt(job, load) for job in jobs]
    answers = generate_answers(
        handle,
        prompts,
        template,
        settings.max_new_tokens,
        prefix,
        reuse_image_prefix=reuse_image_prefix,
        image_blocks=image_blocks,
    )
    scores = scores_from_logits(handle, answers.first_step_logits, template)
    texts = answers.texts
    if settings.answer_source == "forced_choice":
        texts = ["Yes" if score.margin > 0 else "No" for score in scores]
    greedy = zip(answers.nll.tolist(), answers.token_counts.tolist(), strict=True)
    return [
        _row(job, text, score, nll, tokens)
        for job, text, score, (nll, tokens) in zip(jobs, texts, scores, greedy, strict=True)
    ]


def _write_in_parts(store: MiningStore, batches: Iterable[list[MiningRow]], rows_per_part: int) -> None:
    """Store the rows of each batch as they come, in parts of at least ``rows_per_part`` rows (the last
    part may be smaller)."""
    buffer: list[MiningRow] = []
    for rows in batches:
        buffer.extend(rows)
        if len(buffer) >= rows_per_part:
            store.write_part(buffer)
            buffer = []
    if buffer:
        store.write_part(buffer)


def _check_conditions(handle: ModelHandle, settings: MiningConfig) -> None:
    needs_images = [c for c in settings.image_conditions if c != ImageCondition.NONE]
    if needs_images and not handle.accepts_images:
        names = ", ".join(c.value for c in needs_images)
        raise ValueError(
            f"model {handle.spec!r} is text-only; image conditions {names} need a multimodal model"
        )


def _mining_prefix(
    handle: ModelHandle,
    template: PromptTemplate,
    settings: MiningConfig,
    pending: Sequence[MiningJob],
    share_prefix: bool,
) -> SharedPrefix | None:
    if not share_prefix or settings.max_new_tokens != 1:
        return None
    text_jobs = [job for job in pending if job.condition == ImageCondition.NONE]
    return prefix_for_prompts(handle, template, [PromptInput(job.text) for job in text_jobs])


def mine(
    handle: ModelHandle,
    questions: Sequence[QuestionRecord],
    template: PromptTemplate,
    settings: MiningConfig,
    output: Path,
    load: ImageLoader | None = None,
    progress: bool = True,
    share_prefix: bool = True,
) -> MiningResult:
    """Mine every job of ``settings``' shard into ``output``; rows already there are kept, not recomputed.
    A folder made with a different configuration is refused. One-token text prompts run after the
    template's shared prefix (built under the caller's hooks, see ``interp.shared_prefix``), and image
    prompts after their image block, computed once per picture and kept for the next batches
    (``interp.image_prefix``), unless ``share_prefix`` is False. Callers' hooks must treat every position
    alike (capture, clamping) and stay the same for the whole call."""
    _check_conditions(handle, settings)
    fingerprint = run_fingerprint(handle.spec, template.describe(), questions, settings)
    store = MiningStore(output, fingerprint).open()
    done = store.done_keys()
    pending = [job for job in plan_jobs(questions, settings) if job.key not in done]
    load = load or default_image_loader(settings.blank_kind, settings.seed)
    prefix = _mining_prefix(handle, template, settings, pending, share_prefix)
    blocks = ImageBlockCache() if share_prefix else None
    batches = map_batches(  # a batch that runs out of memory is retried at half the size
        pending,
        settings.batch_size,
        lambda batch: mine_batch(handle, batch, template, settings, load, prefix, share_prefix, blocks),
        group=lambda job: job.condition,  # a batch is all of one image condition
        progress="mining" if progress else None,
    )
    _write_in_parts(store, (rows for _, rows in batches), settings.rows_per_part)
    provenance = collect_provenance(
        model_spec=handle.spec,
        model_revision=handle.revision,
        device=str(handle.device),
        dtype=str(handle.dtype).removeprefix("torch."),
        prompt_template=template.describe(),
        seed=settings.seed,
        settings={
            "max_new_tokens": settings.max_new_tokens,
            "batch_size": settings.batch_size,
            "shard": f"{settings.shard_index}/{settings.shard_count}",
            "shared_prefix_tokens": 0 if prefix is None else len(prefix.token_ids),
            "image_prefix_reused": share_prefix,
            "image_blocks_computed": 0 if blocks is None else blocks.runs,
        },
    )
    write_provenance(output, provenance)
    return MiningResult(rows_path=store.merge(), computed=len(pending), reused=len(done))
