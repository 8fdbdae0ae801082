from collections.abc import Callable, Sequence

import pytest
import torch

from interp.batching import BatchSizeReduced, map_batches


def _failing_above(limit: int, sizes: list[int]) -> Callable[[Sequence[int]], list[int]]:
    """A batch step that runs out of memory on batches larger than ``limit`` and records every size tried."""

    def run(batch: Sequence[int]) -> list[int]:
        sizes.append(len(batch))
        if len(batch) > limit:
            raise torch.OutOfMemoryError(f"injected: batch of {len(batch)}")
        return [10 * item for item in batch]

    return run


def test_batches_come_in_order_and_never_mix_groups() -> None:
    items = [1, 2, 3, 4, 5, 6, 7]
    batches = [list(batch) for batch, _ in map_batches(items, 3, sum, group=lambda item: item > 4)]
    assert batches == [[1, 2, 3], [4], [5, 6, 7]]
    assert [result for _, result in map_batches(items, 3, sum)] == [6, 15, 7]


def test_out_of_memory_halves_the_batch_and_matches_a_run_at_that_size() -> None:
    items = list(range(11))
    tried: list[int] = []
    with pytest.warns(BatchSizeReduced) as caught:
        backed_off = list(map_batches(items, 8, _failing_above(2, tried)))
    direct = list(map_batches(items, 2, _failing_above(2, [])))
    assert backed_off == direct
    assert tried == [8, 4, 2, 2, 2, 2, 2, 1]  # 8 fails, 4 fails, then the whole run at 2
    assert [str(w.message) for w in caught] == [
        "out of memory at batch size 8; retrying with batch size 4",
        "out of memory at batch size 4; retrying with batch size 2",
    ]


def test_a_later_failure_retries_only_the_failed_items_and_keeps_the_smaller_size() -> None:
    calls: list[list[int]] = []

    def run(batch: Sequence[int]) -> int:
        calls.append(list(batch))
        if len(batch) > 1 and 6 in batch:  # only the batch holding item 6 is too big
            raise torch.OutOfMemoryError("injected")
        return sum(batch)

    with pytest.warns(BatchSizeReduced, match="batch size 3; retrying with batch size 1"):
        results = [result for _, result in map_batches(list(range(9)), 3, run)]
    assert calls == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [6], [7], [8]]
    assert results == [3, 12, 6, 7, 8]


def test_failure_at_batch_size_one_is_raised() -> None:
    tried: list[int] = []
    with pytest.warns(BatchSizeReduced), pytest.raises(torch.OutOfMemoryError, match="batch of 1"):
        list(map_batches([1, 2, 3], 2, _failing_above(0, tried)))
    assert tried == [2, 1]


def test_other_errors_are_not_retried() -> None:
    def run(batch: Sequence[int]) -> int:
        raise RuntimeError("not a memory problem")

    with pytest.raises(RuntimeError, match="not a memory problem"):
        list(map_batches([1, 2], 2, run))


@pytest.mark.parametrize("cuda", [False, True])
def test_the_cuda_cache_is_emptied_only_where_there_is_cuda(
    monkeypatch: pytest.MonkeyPatch, cuda: bool
) -> None:
    emptied: list[bool] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True))
    with pytest.warns(BatchSizeReduced):
        list(map_batches([1, 2, 3, 4], 4, _failing_above(1, [])))
    assert emptied == ([True, True] if cuda else [])


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(map_batches([1], 0, sum))
