import numpy as np

from saes.feature_stats import group_means, rank_by_mean_abs


def test_group_means_and_ranking() -> None:
    values = np.array([[1.0, -4.0], [3.0, 0.0], [5.0, 2.0]])
    means = group_means(values, ["b", "a", "b"])
    assert list(means) == ["a", "b"]
    np.testing.assert_allclose(means["b"], [3.0, -1.0])
    order, mean_abs = rank_by_mean_abs(values)
    np.testing.assert_allclose(mean_abs, [3.0, 2.0])
    assert order.tolist() == [0, 1]
