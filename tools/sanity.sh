#!/usr/bin/env bash
# ansible-test sanity on a copy of the tree placed under ansible_collections/cloudimages/openstack,
# which ansible-test requires. Works offline except for PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv_bin=$PWD/.venv/bin

# ansible-test fetches get-pip from a host we cannot reach; it uses a cached copy if present.
# This stand-in runs ensurepip in a subprocess (in-process it would drop pip's CA config),
# then installs the pinned pip that ansible-test asks for from PyPI.
pip_version=$("$venv_bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version='3.11'))['pip'])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cat > "$cache" <<'PY'
import subprocess
import sys
subprocess.check_call([sys.executable, "-m", "ensurepip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args))
PY

# A persistent copy keeps ansible-test's venvs in tests/output between runs.
dest=$PWD/build/ansible_collections/cloudimages/openstack
mkdir -p "$dest"
rsync -a --delete --filter=':- .gitignore' --exclude=/tests/output ./ "$dest"/
cd "$dest"
PATH=$venv_bin:$PATH ansible-test sanity --venv --python 3.11 --color no "$@"
