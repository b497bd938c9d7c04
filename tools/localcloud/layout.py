"""Directory layout of one stack and the ports it uses."""

import json
import os
from pathlib import Path

# Offsets from port_base. The order is part of the on-disk format (BASE/ports.json keeps the result).
PORT_NAMES = ('keystone', 'glance', 'glance2', 'placement', 'neutron', 'nova', 'cinder',
              'mysql', 'rabbit', 'rabbit_dist', 'epmd')
LIGHT_SERVICES = ('keystone', 'glance', 'glance2')


class Layout:
    """Paths under BASE: etc/ (configs), data/ (state), log/, run/ (pid files)."""

    def __init__(self, base):
        self.base = Path(base).resolve()
        self.etc = self.base / 'etc'
        self.data = self.base / 'data'
        self.log = self.base / 'log'
        self.run = self.base / 'run'
        self.clouds_yaml = self.base / 'clouds.yaml'
        self.ports_file = self.base / 'ports.json'
        self.state_file = self.base / 'state.json'

    def make_dirs(self):
        for path in (self.etc, self.data, self.log, self.run):
            path.mkdir(parents=True, exist_ok=True)

    def load_json(self, path, default=None):
        try:
            return json.loads(Path(path).read_text(encoding='utf-8'))
        except FileNotFoundError:
            return default

    @staticmethod
    def write_json(path, value):
        tmp = Path(str(path) + '.tmp')
        tmp.write_text(json.dumps(value, indent=2, sort_keys=True) + '\n', encoding='utf-8')
        os.replace(tmp, path)

    def marker(self, name):
        """A file that says an idempotent one-time step (db sync, bootstrap) has completed."""
        return self.data / ('.done-' + name)
