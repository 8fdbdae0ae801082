"""Batched loops that survive running out of accelerator memory: a batch that raises
``torch.OutOfMemoryError`` is split in half and retried (with a warning), down to batch size 1, and the rest
of the run keeps the smaller size. A run that backed off from the start gives exactly what a run at the
smaller batch size gives."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TypeVar

import torch
from tqdm.auto import tqdm

Item = TypeVar("Item")
Result = TypeVar("Result")


class BatchSizeReduced(RuntimeWarning):
    """A batch ran out of memory and is being retried at half the size."""


def _release_memory() -> None:
    gc.collect()  # the failed batch's tensors are only garbage once its traceback is gone
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _next_batch(
    items: Sequence[Item], start: int, size: int, group: Callable[[Item], Hashable] | None
) -> Sequence[Item]:
    """Up to ``size`` items from ``start``, stopping where ``group`` changes."""
    batch = items[start : start + size]
    if group is None:
        return batch
    key = group(batch[0])
    length = next((i for i, item in enumerate(batch) if group(item) != key), len(batch))
    return batch[:length]


def map_batches(
    items: Sequence[Item],
    batch_size: int,
    run: Callable[[Sequence[Item]], Result],
    group: Callable[[Item], Hashable] | None = None,
    progress: str | None = None,
) -> Iterator[tuple[Sequence[Item], Result]]:
    """Yield ``(batch, run(batch))`` over consecutive batches of ``items``, in order. A batch never mixes
    two values of ``group`` (e.g. image and text prompts). When ``run`` raises ``torch.OutOfMemoryError``
    the cache is emptied (on CUDA), a ``BatchSizeReduced`` warning names the new size, and the same items
    are retried in batches of half the failed batch's length; a batch of one that fails re-raises.
    ``progress`` is the description of a progress bar over the items (None: no bar)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    bar = tqdm(total=len(items), desc=progress, unit="item", disable=progress is None)
    start, size = 0, batch_size
    try:
        while start < len(items):
            batch = _next_batch(items, start, size, group)
            try:
                result = run(batch)
            except torch.OutOfMemoryError:
                if len(batch) == 1:
                    raise
                size = size // 2  # a short batch at a group boundary does not shrink the rest further
            else:
                yield batch, result
                del result  # the caller holds it; the generator need not
                start += len(batch)
                bar.update(len(batch))
                continue
            _release_memory()
            warnings.warn(
                f"out of memory at batch size {len(batch)}; retrying with batch size {size}",
                BatchSizeReduced,
                stacklevel=2,
            )
    finally:
        bar.close()
