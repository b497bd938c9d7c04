#!/usr/bin/env bash
# The whole test suite, exactly what CI runs: sanity, lint, changelog, then pytest
# (unit tests, the upstream mirror, and integration tests against a real local OpenStack).
# Extra arguments go to pytest, e.g. `tools/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/bootstrap.sh
export PATH=$PWD/.venv/bin:$PATH

step() {
    local name=$1 started=$SECONDS
    shift
    echo "==> $name"
    "$@"
    echo "==> $name: ok in $((SECONDS - started)) s"
}

step "ansible-test sanity" tools/sanity.sh
# sanity.sh leaves a copy of the tree under build/ansible_collections, which lint resolves FQCNs from.
step "ansible-lint (production profile)" env ANSIBLE_COLLECTIONS_PATH="$PWD/build" ansible-lint --offline
step "changelog fragments" antsibull-changelog lint
# The execution environment's image on its own (cached by its inputs' hash; a fresh machine builds
# it), so its time shows apart from the jobs tests/integration/test_execution_environment.py runs in it.
if (($# == 0)); then
    step "execution environment image" env PYTHONPATH=tools python -m execution_environment build
fi
step "pytest" python -m pytest "$@"
