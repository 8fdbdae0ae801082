"""The workbench's tests. ``check_annotations`` is the suite's run-time checker of every annotation in the
packages that annotate arrays, jaxtyping shapes included (``--jaxtyping-packages`` in pyproject.toml):
beartype with PEP 484's implicit numeric tower, so that an int where a float is annotated is valid, as it is
to mypy."""

from beartype import BeartypeConf, beartype

check_annotations = beartype(conf=BeartypeConf(is_pep484_tower=True))
