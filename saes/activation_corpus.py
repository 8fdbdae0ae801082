"""Owns the SAE training corpus: the demo bank's questions rendered in the workbench's prompt templates, their
``resid_post`` activations collected with our hooks (counted positions only, a shared few-shot prefix kept
once), and a seeded, endlessly shuffled batch iterator over them for sae-lens's trainer."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import torch
from jaxtyping import Bool, Float, Int
from PIL import Image
from torch import Tensor
from tqdm.auto import tqdm

from flipbank.images import load_image
from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import PromptInput, PromptTemplate, batched, encode_prompts, unpadded_rows
from interp.shared_prefix import common_prefix_length
from saes.token_mask import DEFAULT_TOKEN_FILTER, TokenFilter, included_positions


def demo_bank_path() -> Path:
    """The demo question bank shipped with the workbench (PSF-Med MIMIC JSON format)."""
    return Path(str(resources.files("flipbank") / "data" / "demo_bank.json"))


def bank_questions(path: str | Path | None = None) -> dict[str, list[str]]:
    """Question id → [original, paraphrases…] of a PSF-Med MIMIC-format file (default: the demo bank)."""
    rows = json.loads(Path(path or demo_bank_path()).read_text())["results"]
    return {
        str(row["question_id"]): [str(row["original_question"])]
        + [str(p["text"]) for p in row["paraphrases"]]
        for row in rows
    }


def question_images(image_root: Path, path: str | Path | None = None) -> dict[str, Image.Image]:
    """Each question text of a PSF-Med MIMIC-format file (default: the demo bank) → the picture of the first
    question that has it (banks repeat stock phrasings), loaded once per file under ``image_root``."""
    rows = json.loads(Path(path or demo_bank_path()).read_text())["results"]
    loaded: dict[str, Image.Image] = {}
    pictures: dict[str, Image.Image] = {}
    for row in rows:
        filename = str(row["filename"])
        if filename not in loaded:
            loaded[filename] = load_image(image_root / filename)
        for text in [row["original_question"], *(p["text"] for p in row["paraphrases"])]:
            pictures.setdefault(str(text), loaded[filename])
    return pictures


def split_questions(
    questions: dict[str, list[str]], eval_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Train and held-out question texts, split by question id (a question's paraphrases stay together). A
    text that also occurs under a training question (banks repeat stock phrasings) stays out of the held-out
    set, so the two never share a prompt."""
    ids = sorted(questions)
    random.Random(seed).shuffle(ids)
    n_eval = round(len(ids) * eval_fraction)
    held_out = set(ids[:n_eval])
    train = list(dict.fromkeys(text for qid in ids if qid not in held_out for text in questions[qid]))
    seen = set(train)
    evaluation = [text for qid in ids if qid in held_out for text in questions[qid] if text not in seen]
    return train, list(dict.fromkeys(evaluation))


def _real_tokens(
    handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate
) -> list[list[int]]:
    return unpadded_rows(encode_prompts(handle, prompts, template))


def _shown_before(
    handle: ModelHandle,
    input_ids: Int[Tensor, "batch pos"],
    images: Sequence[Image.Image | None],
    seen: set[int],
) -> Bool[Tensor, "batch pos"]:
    """True at the image soft tokens of every row whose picture an earlier row already showed (``seen``
    holds the pictures' ids and is updated)."""
    repeated = torch.zeros_like(input_ids, dtype=torch.bool)
    if handle.image_token_id is None:
        return repeated
    for row, image in enumerate(images):
        if image is None:
            continue
        if id(image) in seen:
            repeated[row] = input_ids[row] == handle.image_token_id
        seen.add(id(image))
    return repeated


def collect_activations(
    handle: ModelHandle,
    layer: int,
    questions: Sequence[str],
    template: PromptTemplate,
    token_filter: TokenFilter = DEFAULT_TOKEN_FILTER,
    batch_size: int = 16,
    progress: bool = False,
    images: Sequence[Image.Image] | None = None,
) -> Float[Tensor, "token d_model"]:
    """``resid_post`` of ``layer`` (float32, CPU) at every counted position of every question in ``template``,
    shown ``images`` (one per question) when given; the forward pass stops after ``layer``. Positions inside
    the prefix that all text prompts share (the few-shot examples) are taken from the first prompt only, so
    they are not repeated once per question. Likewise an image's soft tokens (when ``token_filter`` keeps
    them) count once per picture: the image block follows the same template prefix in every prompt, so a
    picture shown again repeats its activations there."""
    shown = list(images) if images is not None else [None] * len(questions)
    if len(shown) != len(questions):
        raise ValueError(f"{len(shown)} images for {len(questions)} questions")
    prompts = [PromptInput(question, image) for question, image in zip(questions, shown, strict=True)]
    text_only = images is None and len(prompts) > 1
    shared = common_prefix_length(_real_tokens(handle, prompts, template)) if text_only else 0
    chunks: list[Tensor] = []
    seen: set[int] = set()  # pictures whose image tokens were already taken
    for start, batch in tqdm(
        list(zip(range(0, len(prompts), batch_size), batched(prompts, batch_size), strict=True)),
        desc=f"activations ({template.describe()})",
        unit="batch",
        disable=not progress,
    ):
        inputs = encode_prompts(handle, batch, template)
        keep = included_positions(handle, inputs, token_filter)
        real_position = inputs["attention_mask"].long().cumsum(-1) - 1  # 0 at each row's first real token
        repeated = real_position < shared
        repeated[0] &= start != 0  # the very first prompt keeps the shared prefix
        repeated |= _shown_before(handle, inputs["input_ids"], [prompt.image for prompt in batch], seen)
        with (
            ResidCapture(handle.layers, [layer], positions="all", stop_early=True) as capture,
            torch.inference_mode(),
        ):
            handle.model(**inputs, use_cache=False)
        resid = capture.activations[layer]
        chunks.append(resid[(keep & ~repeated).to(resid.device)].float().cpu())
    return torch.cat(chunks)


def shuffled_batches(
    activations: Float[Tensor, "token d_model"], batch_size: int, seed: int = 0
) -> Iterator[Float[Tensor, "batch d_model"]]:
    """Endless batches of ``batch_size`` rows: a fresh seeded permutation each epoch (sae-lens's
    ``DataProvider``). Each batch is full; an epoch's leftover rows start the next epoch's first batch."""
    if activations.shape[0] < batch_size:
        raise ValueError(f"{activations.shape[0]} activations cannot fill a batch of {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    leftover = activations[:0]
    while True:
        permuted = torch.cat(
            [leftover, activations[torch.randperm(activations.shape[0], generator=generator)]]
        )
        full = permuted.shape[0] // batch_size * batch_size
        yield from permuted[:full].split(batch_size)
        leftover = permuted[full:]
