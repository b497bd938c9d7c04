#!/usr/bin/env bash
# The README's demo command: install what is missing, then run tools/demo.py (arguments pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/bootstrap.sh
PYTHONPATH=$PWD/tools exec .venv/bin/python tools/demo.py "$@"
