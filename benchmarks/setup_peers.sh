#!/usr/bin/env bash
# Install the optional peer libraries of benchmarks/peers.py into the workbench's environment without
# moving torch or transformers: both are pinned to the versions already installed (a CUDA torch on a GPU
# box stays as it is), and the script fails if pip would change them.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
versions() {
    "$PYTHON" -c 'import torch, transformers; print(f"torch=={torch.__version__}\ntransformers=={transformers.__version__}")'
}
pins="$(mktemp)"
trap 'rm -f "$pins"' EXIT
versions > "$pins"
"$PYTHON" -m pip install -c "$pins" -r benchmarks/requirements-peers.txt
if [ "$(versions)" != "$(cat "$pins")" ]; then
    echo "torch or transformers changed while installing the peers:" >&2
    diff <(cat "$pins") <(versions) >&2 || true
    exit 1
fi
echo "peers installed; $(tr '\n' ' ' < "$pins")unchanged"
