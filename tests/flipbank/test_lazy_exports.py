import doctest

import pytest

import flipbank.lazy_exports
from flipbank.lazy_exports import lazy_exports


def test_a_listed_name_is_imported_on_first_use_and_others_are_refused() -> None:
    get = lazy_exports("pkg", {"sqrt": "math"})
    assert get("sqrt")(9.0) == 3.0
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'cos'"):
        get("cos")


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.lazy_exports).failed == 0
