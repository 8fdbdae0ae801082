"""Renders a yes/no question into model input text (chat turn or few-shot) and encodes left-padded batches,
with or without one image per prompt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jaxtyping import Int
from PIL import Image
from torch import Tensor

from interp.handle import ModelHandle

GEMMA_TURN_FORMAT = "<start_of_turn>user\n{content}<end_of_turn>\n<start_of_turn>model\n"
DEFAULT_FEW_SHOT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Is the heart located in the chest?", "Yes"),
    ("Are there three lungs in a healthy adult?", "No"),
    ("Any ribs visible on a normal chest X-ray?", "Yes"),
    ("Does a normal chest radiograph show a collapsed lung?", "No"),
    ("Can pneumonia cause an opacity on a chest film?", "Yes"),
    ("Is a healthy diaphragm located in the neck?", "No"),
)


class PromptStyle(StrEnum):
    """How the question is put to the model."""

    CHAT = "chat"
    FEW_SHOT = "few_shot"


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt style with its few-shot examples. ``answer_leading_space`` says whether the answer word
    follows a space (" Yes" after "Answer:") or opens the model turn ("Yes")."""

    style: PromptStyle = PromptStyle.CHAT
    few_shot_examples: tuple[tuple[str, str], ...] = DEFAULT_FEW_SHOT_EXAMPLES

    @property
    def answer_leading_space(self) -> bool:
        return self.style == PromptStyle.FEW_SHOT

    @property
    def answer_terminator(self) -> str | None:
        """Where a generated answer ends: few-shot answers end at the line break before the next example."""
        return "\n" if self.style == PromptStyle.FEW_SHOT else None

    def describe(self) -> str:
        """A one-line description for provenance records."""
        if self.style == PromptStyle.CHAT:
            return PromptStyle.CHAT.value
        return f"{self.style.value}:{len(self.few_shot_examples)}-shot"


CHAT_TEMPLATE = PromptTemplate(PromptStyle.CHAT)
FEW_SHOT_TEMPLATE = PromptTemplate(PromptStyle.FEW_SHOT)


@dataclass(frozen=True)
class PromptInput:
    """One question to ask, with the image to show (None: text only)."""

    question: str
    image: Image.Image | None = None


def has_image(prompt: PromptInput) -> bool:
    """Whether ``prompt`` shows an image: a batch holds image prompts or text prompts, never both."""
    return prompt.image is not None


def _few_shot_text(question: str, template: PromptTemplate, image_marker: str) -> str:
    shots = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in template.few_shot_examples)
    return f"{shots}{image_marker}Question: {question.strip()}\nAnswer:"


def _chat_text(handle: ModelHandle, question: str, with_image: bool) -> str:
    tokenizer = handle.tokenizer
    if tokenizer.chat_template:
        content: list[dict[str, str]] = [{"type": "image"}] if with_image else []
        content.append({"type": "text", "text": question.strip()})
        messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
        owner = handle.processor if with_image and handle.processor is not None else tokenizer
        render = owner.apply_chat_template
        text = str(render(messages, add_generation_prompt=True, tokenize=False))  # type: ignore[arg-type]
        bos = tokenizer.bos_token or ""
        return text.removeprefix(bos)
    marker = _image_marker(handle) if with_image else ""
    return GEMMA_TURN_FORMAT.format(content=f"{marker}{question.strip()}")


def _image_marker(handle: ModelHandle) -> str:
    if handle.processor is None:
        raise ValueError(f"model {handle.spec!r} does not take images; use ImageCondition.NONE")
    return str(getattr(handle.processor, "boi_token"))  # noqa: B009 (set by Gemma3Processor)


def render_prompt(handle: ModelHandle, question: str, template: PromptTemplate, with_image: bool) -> str:
    """The prompt text (without BOS, which the tokenizer adds) ending where the answer begins."""
    if template.style == PromptStyle.FEW_SHOT:
        marker = _image_marker(handle) if with_image else ""
        return _few_shot_text(question, template, marker)
    return _chat_text(handle, question, with_image)


def position_ids_for(
    attention_mask: Int[Tensor, "batch pos"],
) -> Int[Tensor, "batch pos"]:
    """Positions that start at 0 on each row's first real token, so left padding does not shift RoPE."""
    return (attention_mask.long().cumsum(dim=-1) - 1).clamp(min=0)


def encode_prompts(
    handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate
) -> dict[str, Tensor]:
    """Tokenise a batch, left-padded, on the model's input device. Either every prompt has an image or none
    has (the processor needs a uniform batch); group mixed batches by image condition first."""
    with_images = [prompt.image is not None for prompt in prompts]
    if any(with_images) and not all(with_images):
        raise ValueError("a batch must be all-image or all-text; group prompts by image condition")
    texts = [render_prompt(handle, p.question, template, with_images[0]) for p in prompts]
    if with_images and with_images[0]:
        assert handle.processor is not None
        images = [[prompt.image] for prompt in prompts]
        encoded = handle.processor(text=texts, images=images, padding=True, return_tensors="pt")
    else:
        encoded = handle.tokenizer(texts, padding=True, return_tensors="pt")
    inputs = {name: value for name, value in encoded.items() if isinstance(value, Tensor)}
    inputs["position_ids"] = position_ids_for(inputs["attention_mask"])
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(handle.dtype)
    return {name: value.to(handle.device) for name, value in inputs.items()}


def unpadded_rows(encoded: dict[str, Tensor]) -> list[list[int]]:
    """The token ids of each row of a left-padded batch, padding removed."""
    ids, mask = encoded["input_ids"].cpu(), encoded["attention_mask"].cpu().bool()
    return [ids[row][mask[row]].tolist() for row in range(ids.shape[0])]


def batched(items: Sequence[PromptInput], batch_size: int) -> list[Sequence[PromptInput]]:
    """Split ``items`` into consecutive batches of at most ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
