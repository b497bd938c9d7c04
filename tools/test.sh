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

# The execution environment's image (cached in podman's storage by its inputs' hash; a fresh machine,
# as CI is, builds it: 5-6 min, mostly downloads and podman's layer writes) is built in the background
# while sanity and lint keep one core busy, and waited for before pytest, so pytest runs beside
# nothing and its time shows apart from the jobs tests/integration/test_execution_environment.py runs.
ee_pid=
if (($# == 0)); then
    ee_log=$(mktemp -t cloudimages-ee-step.XXXXXX)
    ee_started=$SECONDS
    env PYTHONPATH=tools python -m execution_environment build >"$ee_log" 2>&1 &
    ee_pid=$!
    trap '[[ -n $ee_pid ]] && kill "$ee_pid" 2>/dev/null; true' EXIT
fi

step "ansible-test sanity" tools/sanity.sh
# sanity.sh leaves a copy of the tree under build/ansible_collections, which lint resolves FQCNs from.
step "ansible-lint (production profile)" env ANSIBLE_COLLECTIONS_PATH="$PWD/build" ansible-lint --offline
step "changelog fragments" antsibull-changelog lint
if [[ -n $ee_pid ]]; then
    echo "==> execution environment image (started beside sanity)"
    waited=$SECONDS
    ee_rc=0
    wait "$ee_pid" || ee_rc=$?
    ee_pid=
    cat "$ee_log"
    rm -f "$ee_log"
    if ((ee_rc)); then
        echo "==> execution environment image: failed (exit $ee_rc)"
        exit "$ee_rc"
    fi
    echo "==> execution environment image: ok in $((SECONDS - ee_started)) s, of which $((SECONDS - waited)) s after lint"
fi
step "pytest" python -m pytest "$@"
