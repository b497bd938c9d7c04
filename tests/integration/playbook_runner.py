"""Run a real ``ansible-playbook`` against the working tree of the collection."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

PLAYBOOKS = Path(__file__).resolve().parent / 'playbooks'
_RECAP = re.compile(r'^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)', re.M)


class PlaybookResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.recap = {m['host']: {k: int(v) for k, v in m.groupdict().items() if k != 'host'} for m in _RECAP.finditer(proc.stdout)}

    def changed(self):
        return sum(host['changed'] for host in self.recap.values())


def playbook_command(playbook, env=None, extra_vars=None, check=False, inventory=None, args=()):
    """``(argv, environment)`` of an ``ansible-playbook`` run of ``playbook`` (a collection FQCN, or a
    file in tests/integration/playbooks).

    The inventory defaults to localhost with the test's own Python, which has openstacksdk;
    ANSIBLE_COLLECTIONS_PATH is set by tests/conftest.py to a farm holding this tree.
    """
    path = playbook if playbook.startswith('cloudimages.openstack.') else PLAYBOOKS / playbook
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), str(path),
           '-i', inventory or 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    if check:
        cmd += ['--check', '--diff']
    cmd += list(args)
    return cmd, dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0', **(env or {}))


def run_playbook(playbook, env=None, extra_vars=None, check=False, inventory=None, timeout=600, args=()):
    """Run ``playbook`` (see playbook_command) and return its result."""
    cmd, run_env = playbook_command(playbook, env, extra_vars, check, inventory, args)
    proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookResult(proc)
