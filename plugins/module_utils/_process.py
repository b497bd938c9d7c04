# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""This module process: its run id, and how it is cancelled.

A run id names a process for as long as it lives: a hash of the kernel's boot id and the pid
namespace, the pid and the process's start time. A process that reads a run id of its own host
and namespace can prove that its writer is gone (``gone``); elsewhere nothing is proven.

Cancellation: AWX cancels a job with SIGTERM, a terminal with SIGINT. ansible-core starts each
worker in a session of its own, so killing ansible-playbook's process group does not reach the
module, which would run on beside the next run; ``Guard`` watches the module's ansible ancestors
and cancels the module like a signal once one of them is gone. A cancel raises ``Cancelled``
where the module is, except inside ``Guard.pair()``: a pair of steps (demote + promote) is
finished (or undone by its code) first.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from contextlib import contextmanager

PROC = '/proc'
WATCH_EVERY = 1.0  # seconds between looks at the controller


class Cancelled(BaseException):
    """Raised into the module by a signal or by its vanished controller (BaseException, like
    KeyboardInterrupt, so that undo code written for any failure runs and nothing swallows it)."""


def _stat(pid, proc=PROC):
    """``(ppid, start time)`` of ``pid`` from /proc, or None when there is no such process."""
    try:
        with open('%s/%d/stat' % (proc, pid)) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[19]  # fields 4 and 22 of proc(5), counted after the command


def _cmdline(pid, proc=PROC):
    try:
        with open('%s/%d/cmdline' % (proc, pid), 'rb') as handle:
            return handle.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except OSError:
        return ''


def _namespace(proc=PROC):
    """The boot and pid namespace pids are unique in, as a short hash; None without /proc."""
    try:
        with open('%s/sys/kernel/random/boot_id' % proc) as handle:
            boot = handle.read().strip()
        space = os.stat('%s/self/ns/pid' % proc).st_ino
    except OSError:
        return None
    return hashlib.sha256(('%s/%s' % (boot, space)).encode()).hexdigest()[:16]


def run_id(pid=None, proc=PROC):
    """``<namespace>-<pid>-<start time>`` of this process (or ``pid``); '' where /proc is missing."""
    pid = pid or os.getpid()
    space, stat = _namespace(proc), _stat(pid, proc)
    return '%s-%d-%s' % (space, pid, stat[1]) if space and stat else ''


def gone(other, proc=PROC):
    """True when the process of run id ``other`` provably no longer runs: same boot and pid
    namespace as ours, and its pid is free or belongs to a later process. False otherwise."""
    parts = str(other or '').split('-')
    if len(parts) != 3 or not parts[1].isdigit() or parts[0] != _namespace(proc):
        return False
    stat = _stat(int(parts[1]), proc)
    return stat is None or stat[1] != parts[2]


def controller(pid=None, proc=PROC):
    """``[(pid, start time)]`` of the ancestors to watch: the chain of ansible processes above ``pid``
    (the shell ansible started the module with, its worker, ansible-playbook, ansible-runner), or
    the parent alone when none is ansible (a module run some other way)."""
    own = _stat(pid or os.getpid(), proc)
    chain, ppid = [], own[0] if own else 0
    while ppid > 1:
        stat = _stat(ppid, proc)
        if stat is None or 'ansible' not in _cmdline(ppid, proc):
            break
        chain.append((ppid, stat[1]))
        ppid = stat[0]
    if not chain and own and own[0] > 1:
        stat = _stat(own[0], proc)
        chain = [(own[0], stat[1])] if stat else []
    return chain


def lost(chain, proc=PROC):
    """The first watched ancestor that is gone, or None."""
    for pid, started in chain:
        stat = _stat(pid, proc)
        if stat is None or stat[1] != started:
            return pid
    return None


class Guard:
    """Turns SIGTERM, SIGINT and a vanished controller into ``Cancelled``; see the module docstring."""

    def __init__(self):
        self.reason, self._depth, self._raised, self._stop = None, 0, False, threading.Event()

    def install(self, watch=True):
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        chain = controller() if watch else []
        if chain:
            threading.Thread(target=self._watch, args=(chain,), name='controller-watch', daemon=True).start()
        return self

    def stop(self):
        self._stop.set()

    def _watch(self, chain):
        while not self._stop.wait(WATCH_EVERY):
            pid = lost(chain)
            if pid is not None:
                self.reason = self.reason or 'its controller (process %d) is gone' % pid
                os.kill(os.getpid(), signal.SIGTERM)  # the main thread takes it like any signal
                return

    def _on_signal(self, signum, _frame):
        self.reason = self.reason or 'it received %s' % signal.Signals(signum).name
        if not self._depth:
            self._raise()

    def _raise(self):
        if not self._raised:  # once: a second signal must not break the undo the first one started
            self._raised = True
            raise Cancelled('cancelled: %s' % self.reason)

    @contextmanager
    def pair(self):
        """Steps that must not be split by a cancel: it is raised once they are done."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self.reason and not self._depth:
            self._raise()


NO_GUARD = Guard()  # never installed: pair() only counts; for callers without a module
