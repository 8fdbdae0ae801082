"""A demo workload run behind guards, for the safety tests: every network connection and every ``torch.load``
is reported on stderr (connections also fail) before the workbench is imported; then the demo margins, a short
mining run and a sentence-similarity call run into the given output folder.

Run: ``python -m tests.faults.guarded_run OUTPUT`` (with ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

NETWORK_MARK = "NETWORK ATTEMPT"
TORCH_LOAD_MARK = "TORCH LOAD"


def _refuse(what: str) -> Any:
    def refused(*arguments: Any, **options: Any) -> Any:
        family = getattr(arguments[0], "family", None) if arguments else None
        if family == socket.AF_UNIX:
            return original[what](*arguments, **options)
        print(f"{NETWORK_MARK}: {what}{arguments[1:]!r}", file=sys.stderr, flush=True)
        raise OSError(f"network access blocked by the safety test ({what})")

    return refused


original: dict[str, Any] = {
    "socket.connect": socket.socket.connect,
    "socket.connect_ex": socket.socket.connect_ex,
    "create_connection": socket.create_connection,
    "getaddrinfo": socket.getaddrinfo,
}


def install_guards() -> None:
    """Make every non-local socket connection and name lookup fail loudly, and report ``torch.load`` calls."""
    socket.socket.connect = _refuse("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse("socket.connect_ex")  # type: ignore[method-assign]
    socket.create_connection = _refuse("create_connection")
    socket.getaddrinfo = _refuse("getaddrinfo")
    import torch

    load = torch.load

    def reported_load(*arguments: Any, **options: Any) -> Any:
        print(f"{TORCH_LOAD_MARK}: weights_only={options.get('weights_only')}", file=sys.stderr, flush=True)
        return load(*arguments, **options)

    torch.load = reported_load


def run(output: Path) -> None:
    """Demo margins on the demo model, a two-question mining run, and one similarity call."""
    from experiments.model_options import ModelConfig
    from experiments.steps.demo_margins import run_demo_margins
    from experiments.steps.mining import mine
    from flipbank.demo_bank import load_demo_bank
    from flipbank.mining_plan import MiningConfig
    from flipbank.similarity import EmbeddingSimilarity
    from interp.loading import load_model
    from interp.prompts import FEW_SHOT_TEMPLATE

    run_demo_margins(ModelConfig(spec="gemma3-270m"), output)
    handle = load_model("gemma3-270m")
    mine(handle, load_demo_bank()[:2], FEW_SHOT_TEMPLATE, MiningConfig(), output / "mining", progress=False)
    similarity = EmbeddingSimilarity().pairwise(["Is the heart big?"], ["Is the heart enlarged?"])
    print(f"similarity {float(similarity[0]):.3f}", flush=True)


if __name__ == "__main__":
    install_guards()
    run(Path(sys.argv[1]))
