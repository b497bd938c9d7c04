"""LocalCloud: install, start, bootstrap, inspect and stop one stack under a base directory."""

import functools
import re
import sys
import threading
import time

from . import configs, install, regions
from .layout import LIGHT_SERVICES, PORT_NAMES, Layout
from .ports import PortInUse, auto_base, check_free, plan
from .process import Daemons, StepFailed
from .services import STOP_ORDER, Stack

INFRA = ('rabbitmq', 'epmd', 'mysql')  # stopped last, after everything that talks to them


# uwsgi's request log: '... [date] GET /v2/images => generated 762 bytes in 13 msecs (HTTP/1.1 200) ...'
_REQUEST_LINE = re.compile(r'\] (?P<method>[A-Z]+) (?P<path>\S+) => generated .*? \(HTTP/[\d.]+ (?P<status>\d{3})\)')


def boots(base=None, services='full'):
    """Whether servers of the stack under base (a new stack when None) really boot: the one place
    that says so, for the stack and for the test mirror (which then serves bootable images)."""
    return configs.stack_driver(base and Layout(base), services == 'full') == 'libvirt'


class LocalCloudError(RuntimeError):
    pass


class LocalCloud:
    """A real OpenStack on 127.0.0.1 under base_dir. services: 'full' or 'light' (Keystone + Glance)."""

    def __init__(self, base_dir, services='full', port_base=None, keep_on_fail=False, out=None):
        if services not in ('full', 'light'):
            raise ValueError("services must be 'full' or 'light', not %r" % (services,))
        self.layout = Layout(base_dir)
        self.daemons = Daemons(self.layout)
        self.full = services == 'full'
        self.mode = services
        self.port_base = port_base
        self.keep_on_fail = keep_on_fail
        self.out = out or sys.stdout
        self.ports = self.layout.load_json(self.layout.ports_file)
        self.timings = {}
        self._t0 = time.monotonic()

    # -- public API ------------------------------------------------------------------------------
    @property
    def compute(self):
        """'libvirt' (servers really boot), 'fake' (Nova's FakeDriver) or None (light: no Nova)."""
        return configs.stack_driver(self.layout, self.full)

    @property
    def boots(self):
        return boots(self.layout.base, self.mode)

    @property
    def clouds_yaml(self):
        return str(self.layout.clouds_yaml)

    def env(self):
        return {'OS_CLIENT_CONFIG_FILE': self.clouds_yaml}

    @property
    def endpoints(self):
        """{region: {service type: url}}; RegionTwo is a second Glance only."""
        if not self.ports:
            return {}
        url = functools.partial(configs.url, self.ports)
        one = {'identity': url('keystone', '/v3'), 'image': url('glance')}
        if self.full:
            one.update({'placement': url('placement'), 'network': url('neutron'), 'compute': url('nova', '/v2.1'),
                        'block-storage': url('cinder', '/v3')})
        return {'RegionOne': one, 'RegionTwo': {'identity': url('keystone', '/v3'), 'image': url('glance2')}}

    def api_requests(self, service):
        """(method, path, status) of every request a uwsgi-served API answered so far, from its request log.

        ``service`` names its log: glance (RegionOne), glance2 (RegionTwo), nova-api, cinder-api, keystone.
        """
        path = self.layout.log / ('%s.log' % service)
        if not path.exists():
            return []
        return [(m['method'], m['path'], int(m['status'])) for m in _REQUEST_LINE.finditer(path.read_text(encoding='utf-8', errors='replace'))]

    def add_regions(self, total):
        """Regions 3..total, each a light Glance of its own (see regions.py): {region: Glance URL}."""
        return regions.add(self, total)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        if not (self.keep_on_fail and exc_info[0] is not None):
            self.stop()

    def start(self):
        self._t0 = time.monotonic()
        self.layout.make_dirs()
        if self._already_running():
            return self
        if self.full and self.layout.marker('nova-db').exists():
            raise LocalCloudError(
                '%s already held a full stack. A full stack is started on a fresh directory only (a restarted '
                'fake-driver nova-compute refused its new node UUID; libvirt restarts were never tried). Use a fresh directory, or start it with --light.'
                % self.layout.base)
        try:
            self._plan_ports()
        except PortInUse as exc:
            raise LocalCloudError(str(exc)) from exc
        try:
            self._phase('install', self._install)
            self._phase('configure', lambda: self._stack().write_configs())
            self._phase('services', self._start_services)
            self.layout.write_json(self.layout.state_file, {'services': self.mode})
        except BaseException as exc:
            if self.keep_on_fail:
                self._say('start failed; --keep-on-fail: leaving what runs, logs in %s' % self.layout.log)
            else:
                self._say('start failed; stopping what was started (logs kept in %s)' % self.layout.log)
                self.stop()
            if isinstance(exc, (StepFailed, PortInUse, OSError)):
                raise LocalCloudError('%s\n(logs: %s)' % (exc, self.layout.log)) from exc
            raise
        self._summary()
        return self

    def stop(self):
        """SIGTERM by pid file, wait, SIGKILL leftovers of that pid's tree. Never kills by name."""
        names = self.daemons.names()
        if not names:
            return
        start = time.monotonic()
        if 'libvirtd' in names:
            killed = Stack(self.layout, self.daemons, self.ports, None, True, threading.Event()).stop_domains()
            if killed:
                self._say('stopped %d QEMU domain(s) by pid file' % killed)
        first = [name for name in names if name not in INFRA]
        first.sort(key=lambda name: STOP_ORDER.index(name) if name in STOP_ORDER else -1)
        notes = []
        threads = [threading.Thread(target=lambda name: notes.append(self.daemons.stop(name)), args=(name,))
                   for name in first]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if 'rabbitmq' in names:
            Stack(self.layout, self.daemons, self.ports, None, True, threading.Event()).stop_rabbitmq()
        for name in ('epmd', 'mysql'):
            if name in names:
                notes.append(self.daemons.stop(name))
        for note in filter(None, notes):
            self._say(note)
        self._say('stopped %d processes in %.1f s' % (len(names), time.monotonic() - start))

    def status(self):
        """[(name, pid, running, rss MB incl. children)] for every pid file, plus API health."""
        rows = []
        for name in sorted(self.daemons.names(), key=lambda n: STOP_ORDER.index(n) if n in STOP_ORDER else 99):
            entry = self.daemons.read(name)
            rss = self.daemons.rss_mb(name)
            rows.append((name, entry[0] if entry else None, rss is not None, rss))
        health = {}
        if self.ports:
            state = self.layout.load_json(self.layout.state_file, {})
            stack = Stack(self.layout, self.daemons, self.ports, None, state.get('services') == 'full', None)
            health = stack.healthy()
        return rows, health

    # -- internals -----------------------------------------------------------------------------------
    def _say(self, message):
        print('[localcloud %6.1fs] %s' % (time.monotonic() - self._t0, message), file=self.out, flush=True)

    def _phase(self, name, func):
        start = time.monotonic()
        self._say('%s ...' % name)
        func()
        self.timings[name] = time.monotonic() - start
        self._say('%s done in %.1f s' % (name, self.timings[name]))

    def _stack(self, aborted=None):
        venv = install.venv_path()
        return Stack(self.layout, self.daemons, self.ports, venv, self.full, aborted or threading.Event())

    def _already_running(self):
        live = [name for name in self.daemons.names() if self.daemons.running(name)]
        if not live:
            for name in self.daemons.names():  # stale pid files of a crashed or killed stack
                self.daemons.pidfile(name).unlink(missing_ok=True)
            return False
        state = self.layout.load_json(self.layout.state_file, {})
        if state.get('services') in (self.mode, 'full') and self.ports:
            health = Stack(self.layout, self.daemons, self.ports, None, self.full, None).healthy()
            if all(health.values()):
                self._say('already running (%s), all APIs healthy' % ', '.join(sorted(live)))
                return True
        why = ('a %s stack runs there, %s was asked for' % (state['services'], self.mode)
               if state.get('services') not in (None, self.mode, 'full') else 'a stack is partly running there')
        raise LocalCloudError('%s: %s (%s). Run "python -m localcloud stop %s" first.'
                              % (self.layout.base, why, ', '.join(sorted(live)), self.layout.base))

    def _plan_ports(self):
        if self.port_base is not None:
            self.ports = plan(self.port_base)
        elif not self.ports:
            self.ports = plan(auto_base())
        names = PORT_NAMES if self.full else LIGHT_SERVICES
        check_free(self.ports, names)
        self.layout.write_json(self.layout.ports_file, self.ports)
        self._say('ports: %s' % ', '.join('%s=%d' % (name, self.ports[name]) for name in names))

    def _install(self):
        log = self.layout.log / 'install.log'
        start = time.monotonic()
        libvirt = self.compute == 'libvirt'
        if install.ensure_debs(self.full, log, libvirt):
            self._say('Debian packages installed in %.1f s' % (time.monotonic() - start))
        start = time.monotonic()
        venv, built = install.ensure_venv(log, libvirt)
        self._say('services venv %s %s (%.1f s)' % (venv, 'built' if built else 'cached', time.monotonic() - start))

    def _start_services(self):
        """Run the tasks of services.Stack in threads, each as soon as its dependencies are done."""
        aborted = threading.Event()
        pending = {name: (deps, func) for name, deps, func in self._stack(aborted).tasks()}
        done, running, errors = set(), set(), []
        cond = threading.Condition()

        def worker(name, func):
            start = time.monotonic()
            try:
                func()
            except BaseException as exc:  # pylint: disable=broad-except
                errors.append((name, exc))
                aborted.set()
            else:
                self.timings['  ' + name] = time.monotonic() - start
                self._say('  %-18s ready (%.1f s)' % (name, time.monotonic() - start))
            with cond:
                running.discard(name)
                if not errors or errors[-1][0] != name:
                    done.add(name)
                cond.notify_all()

        with cond:
            while True:
                ready = [name for name, (deps, _func) in pending.items() if set(deps) <= done]
                for name in ([] if errors else ready):
                    running.add(name)
                    threading.Thread(target=worker, args=(name, pending.pop(name)[1]), daemon=True).start()
                if not running:
                    break
                cond.wait()
        if errors:
            name, exc = errors[0]
            raise StepFailed('%s: %s' % (name, exc)) from exc
        if pending:
            raise StepFailed('unsatisfiable task dependencies: %s' % ', '.join(pending))

    def _summary(self):
        total = time.monotonic() - self._t0
        lines = ['localcloud %s stack up in %.1f s under %s' % (self.mode, total, self.layout.base)]
        lines += ['  %-20s %6.1f s' % (name, secs) for name, secs in self.timings.items()]
        lines.append('  %-20s %6.1f s' % ('total', total))
        lines.append('  clouds.yaml: %s' % self.clouds_yaml)
        print('\n'.join(lines), file=self.out, flush=True)
