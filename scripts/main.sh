#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the whole demo study on the embedded default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/psf-workbench study --preset demo "$@"
