"""Which weights a run folder's results came from, so that a rerun never mixes them with other weights.

A run folder is named by the study configuration's hash, and a finished step is skipped on the next run.
The configuration names the model and the SAE (``demo-vlm``, a release id), not their weights: after the
demo VLM is retrained, a new SAE is shipped or another HF snapshot is cached, the same folder would keep
the old steps and add new ones. So the first run writes ``weights.json`` (the spec and the name of the
folder it resolves to: content-addressed for the built-in models, the commit in the HF cache; and a hash
of the SAE's weight files), and every later run into the folder compares, before any step runs.

>>> RunWeights("demo-vlm @ demo-vlm-bddbf7ce8e92", "ab12").differences(RunWeights("demo-vlm @ demo-vlm-0f0f"))
['model: demo-vlm @ demo-vlm-bddbf7ce8e92 when the folder was made, demo-vlm @ demo-vlm-0f0f now']
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from experiments.commands.preflight_model import check_model
from experiments.commands.preflight_sae import SAEPreflightError, sae_facts
from experiments.study_config import StudyConfig
from flipbank.atomic_folder import atomic_path

WEIGHTS_FILE = "weights.json"
_WEIGHT_SUFFIXES = (".safetensors", ".npz", ".pt", ".bin")


class RunWeightsError(RuntimeError):
    """A run folder holds results of other weights than the run about to start would use."""


@dataclass(frozen=True)
class RunWeights:
    """The identity of a run's model (its spec and the name of the folder it resolves to, or the spec alone
    when unresolved) and SAE (a hash of its weight files; None when it has none on disk yet)."""

    model: str
    sae: str | None = None

    def differences(self, current: RunWeights) -> list[str]:
        """Each field that differs from ``current``; an SAE unknown on either side is not compared."""
        fields = [("model", self.model, current.model)]
        if self.sae is not None and current.sae is not None:
            fields.append(("sae", self.sae, current.sae))
        changed = [(name, then, now) for name, then, now in fields if then != now]
        return [f"{name}: {then} when the folder was made, {now} now" for name, then, now in changed]


def weights_digest(folder: Path) -> str | None:
    """A SHA-256 (16 hex digits) over the names and content hashes of the weight files in ``folder``; None
    when there are none."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode())
        with path.open("rb") as stream:
            digest.update(hashlib.file_digest(stream, "sha256").digest())
    return digest.hexdigest()[:16]


def current_weights(config: StudyConfig, hf_cache_dir: str | Path | None = None) -> RunWeights:
    """The weights ``config`` resolves to now, found as the loaders find them, without loading any."""
    spec = config.model.spec
    facts = check_model(spec, config.model.prompt_style, hf_cache_dir=hf_cache_dir).facts
    model = spec if facts is None or facts.folder is None else f"{spec} @ {facts.folder.name}"
    try:
        sae = weights_digest(sae_facts(config.sae, hf_cache_dir, spec).where)
    except SAEPreflightError:
        sae = None
    return RunWeights(model, sae)


def check_run_weights(folder: Path, current: RunWeights) -> None:
    """Record ``current`` in ``folder`` (filling in an SAE not known before), or raise `RunWeightsError`
    when the folder's results came from other weights."""
    path = folder / WEIGHTS_FILE
    recorded = RunWeights(**json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None
    if recorded is not None:
        differences = recorded.differences(current)
        if differences:
            raise RunWeightsError(
                f"{path}: the run folder holds results of other weights ({'; '.join(differences)}). "
                "Its finished steps would be mixed with new ones: move the folder away, or pass another "
                "--output."
            )
        current = replace(current, sae=current.sae or recorded.sae)
        if current == recorded:
            return
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(asdict(current), indent=2) + "\n", encoding="utf-8")
