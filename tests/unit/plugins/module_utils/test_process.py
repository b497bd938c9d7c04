"""Run ids and cancellation, with real processes: signals, kill -9 and a new session like ansible-core's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils import _process

pytestmark = pytest.mark.skipif(not os.path.exists('/proc/self/stat'), reason='Linux /proc only')


def test_a_run_id_is_gone_once_its_process_ended_and_unknown_elsewhere():
    child = subprocess.Popen(['sleep', '30'])
    try:
        other = _process.run_id(child.pid)
        assert other and _process.gone(other) is False
        assert _process.gone(_process.run_id()) is False
    finally:
        child.kill()
        child.wait()
    assert _process.gone(other) is True
    space, pid, _started = other.split('-')
    assert _process.gone('%s-%d-1' % (space, os.getpid())) is True  # the pid now belongs to a later process
    assert _process.gone('0123456789abcdef-%s-1' % pid) is False  # another host or namespace proves nothing
    assert _process.gone('') is False and _process.gone('garbage') is False


# The "module": a Guard, then a pair of steps that takes 1.5 s; it prints what happened.
MODULE = r'''
import sys, time
sys.path[:0] = %r
from ansible_collections.cloudimages.openstack.plugins.module_utils import _process
_process.WATCH_EVERY = 0.1
guard = _process.Guard().install()
print('ready', flush=True)
try:
    with guard.pair():
        time.sleep(1.5)
        print('pair done', flush=True)
    time.sleep(30)
    print('ran on', flush=True)
except _process.Cancelled as exc:
    print(exc, flush=True)
'''

# The "controller": named like ansible-playbook, starts the module in a session of its own
# (ansible-core's workers call os.setsid) and waits.
CONTROLLER = r'''
import subprocess, sys
subprocess.Popen([sys.executable, '-c', sys.argv[1]], start_new_session=True, stdout=open(sys.argv[2], 'w'))
import time; time.sleep(60)
'''


def _start(tmp_path):
    script = tmp_path / 'ansible-playbook'
    script.write_text(CONTROLLER)
    out = tmp_path / 'module.out'
    controller = subprocess.Popen([sys.executable, str(script), MODULE % (sys.path,), str(out)],
                                  start_new_session=True)
    deadline = time.monotonic() + 30
    while 'ready' not in (out.read_text() if out.exists() else ''):
        assert time.monotonic() < deadline, 'module did not start'
        time.sleep(0.05)
    return controller, out


def _wait_for(out, text, seconds=15):
    deadline = time.monotonic() + seconds
    while text not in out.read_text():
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.1)
    return out.read_text()


def test_killing_the_controllers_process_group_cancels_the_module_after_its_pair(tmp_path):
    controller, out = _start(tmp_path)
    os.killpg(controller.pid, signal.SIGKILL)  # what an operator's kill -9 of the job does
    controller.wait()
    text = _wait_for(out, 'cancelled')
    assert 'pair done' in text and 'ran on' not in text
    assert 'its controller (process %d) is gone' % controller.pid in text


def test_sigterm_to_the_module_finishes_its_pair_then_cancels(tmp_path):
    controller, out = _start(tmp_path)
    try:
        module = int(subprocess.check_output(['pgrep', '-P', str(controller.pid)]).split()[0])
        os.kill(module, signal.SIGTERM)
        text = _wait_for(out, 'cancelled')
        assert text.splitlines()[1:] == ['pair done', 'cancelled: it received SIGTERM']
    finally:
        controller.kill()
        controller.wait()
