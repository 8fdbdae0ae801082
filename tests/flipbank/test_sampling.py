import doctest
from collections import Counter

import pytest

import flipbank.sampling
from flipbank.sampling import stratified_sample


def test_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.sampling).failed == 0


def test_each_stratum_keeps_its_share_and_the_order_is_the_original() -> None:
    strata = [("negation_pattern", "yes")] * 60 + [("lexical_substitution", "no")] * 30 + [("x", "yes")] * 10
    chosen = stratified_sample(strata, 20, seed=4)
    assert chosen == sorted(chosen) and len(set(chosen)) == 20
    assert Counter(strata[i] for i in chosen) == {
        ("negation_pattern", "yes"): 12,
        ("lexical_substitution", "no"): 6,
        ("x", "yes"): 2,
    }


def test_largest_remainders_fill_the_sample_exactly() -> None:
    strata = ["a"] * 5 + ["b"] * 3 + ["c"] * 2  # quotas for 4: 2.0, 1.2, 0.8 -> 2, 1, 1
    counts = Counter(strata[i] for i in stratified_sample(strata, 4, seed=0))
    assert counts == {"a": 2, "b": 1, "c": 1}


def test_seeded_reproducible_and_not_the_first_n() -> None:
    strata = ["same"] * 200
    first = stratified_sample(strata, 10, seed=7)
    assert first == stratified_sample(strata, 10, seed=7)
    assert first != stratified_sample(strata, 10, seed=8)
    assert first != list(range(10))


def test_everything_when_the_sample_is_not_smaller() -> None:
    assert stratified_sample(["a", "b"], None, seed=0) == [0, 1]
    assert stratified_sample(["a", "b"], 5, seed=0) == [0, 1]
    assert stratified_sample(["a", "b"], 0, seed=0) == []
    with pytest.raises(ValueError, match="non-negative"):
        stratified_sample(["a", "b", "c"], -1, seed=0)
