"""Start daemons with pid files, run one-shot commands, stop by pid (never by name), measure RSS."""

import os
import signal
import subprocess
import time
from pathlib import Path


class StepFailed(RuntimeError):
    pass


def tail(path, lines=40):
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode('utf-8', 'replace')
    except OSError:
        return '(no log at %s)' % path
    return '\n'.join(text.splitlines()[-lines:])


def _stat(pid):
    """(state, ppid, starttime) from /proc/<pid>/stat, or None if gone."""
    try:
        raw = Path('/proc/%d/stat' % pid).read_text(encoding='utf-8', errors='replace')
    except OSError:
        return None
    fields = raw[raw.rindex(')') + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def alive(pid, starttime=None):
    try:
        os.waitpid(pid, os.WNOHANG)  # reap if it is our child, so it does not linger as a zombie
    except ChildProcessError:
        pass
    stat = _stat(pid)
    if stat is None or stat[0] in ('Z', 'X'):
        return False
    return starttime is None or stat[2] == starttime


def descendants(pid):
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat:
                children.setdefault(stat[1], []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Daemons:
    """Pid files in run/: '<pid> <starttime>' so a recycled pid is never signalled."""

    def __init__(self, layout):
        self.layout = layout

    def pidfile(self, name):
        return self.layout.run / (name + '.pid')

    def logfile(self, name):
        return self.layout.log / (name + '.log')

    def spawn(self, name, argv, env=None, cwd=None):
        with open(self.logfile(name), 'ab') as log:
            # Own session: a Ctrl-C in the caller's terminal does not reach the services.
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        stat = _stat(proc.pid)
        self.pidfile(name).write_text('%d %d\n' % (proc.pid, stat[2] if stat else 0), encoding='utf-8')
        return proc.pid

    def read(self, name):
        try:
            pid, starttime = self.pidfile(name).read_text(encoding='utf-8').split()
            return int(pid), int(starttime)
        except (OSError, ValueError):
            return None

    def running(self, name):
        entry = self.read(name)
        return bool(entry) and alive(*entry)

    def names(self):
        return sorted(path.stem for path in self.layout.run.glob('*.pid'))

    def stop(self, name, timeout=15.0):
        """Returns a note when SIGKILL was needed, else None."""
        entry, note = self.read(name), None
        if entry and alive(*entry):
            pid, starttime = entry
            tree = [(child, _stat(child)) for child in descendants(pid)]
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while alive(pid, starttime) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid, starttime):
                note = '%s: no exit %.0f s after SIGTERM, sent SIGKILL' % (name, timeout)
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and any(stat and alive(child, stat[2]) for child, stat in tree):
                time.sleep(0.1)
            for child, stat in tree:
                if stat and alive(child, stat[2]):
                    note = note or '%s: child %d outlived its parent, sent SIGKILL' % (name, child)
                    os.kill(child, signal.SIGKILL)
            while alive(pid, starttime):
                time.sleep(0.05)
        self.pidfile(name).unlink(missing_ok=True)
        return note

    def rss_mb(self, name):
        entry = self.read(name)
        if not entry or not alive(*entry):
            return None
        total = 0
        for pid in [entry[0]] + descendants(entry[0]):
            try:
                for line in Path('/proc/%d/status' % pid).read_text(encoding='utf-8').splitlines():
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024.0


def run(argv, log, env=None, timeout=600, cwd=None, abort=None):
    """Run a one-shot command, output appended to log; failure raises with the log tail.

    abort: a threading.Event; when another start-up task failed, stop waiting and kill the command.
    """
    with open(log, 'ab') as handle:
        handle.write(('\n$ %s\n' % ' '.join(str(arg) for arg in argv)).encode())
        handle.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, env=env, cwd=cwd)
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if (abort is not None and abort.is_set()) or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            why = 'aborted' if time.monotonic() <= deadline else 'timed out after %ss; tail of %s:\n%s' % (
                timeout, log, tail(log))
            raise StepFailed('%s %s' % (Path(str(argv[0])).name, why))
        time.sleep(0.05)
    if proc.returncode != 0:
        name = Path(str(argv[0])).name
        raise StepFailed('%s failed (exit %s); tail of %s:\n%s' % (name, proc.returncode, log, tail(log)))
