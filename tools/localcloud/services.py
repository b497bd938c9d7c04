"""What to run for each service: one-time initialisation steps and the long-running daemons.

Each task is (name, dependencies, callable); cloud.py runs them in parallel threads as soon as their
dependencies are done, so the slow DB migrations (nova ~20 s CPU, neutron ~10 s) overlap.
"""

import concurrent.futures
import functools
import os
import secrets
import signal
import string
import subprocess
import time
from pathlib import Path

from . import configs
from .health import amqp_greeting, mysql_greeting, probe, wait_until
from .process import StepFailed, alive, run, tail

RABBIT_BIN = Path('/usr/lib/rabbitmq/bin')
BOOTSTRAP = Path(__file__).with_name('bootstrap.py')

# Stopped in this order (consumers before what they consume).
STOP_ORDER = ('nova-compute', 'libvirtd', 'virtlogd', 'nova-scheduler', 'nova-conductor', 'nova-api', 'cinder-volume', 'cinder-scheduler',
              'cinder-api', 'neutron', 'placement', 'glance', 'glance2', 'keystone', 'rabbitmq', 'epmd', 'mysql')
UWSGI_SERVICES = {  # daemon name -> (health check / port name, wsgi module, config dir env var)
    'keystone': ('keystone', 'keystone.wsgi.api:application', 'OS_KEYSTONE_CONFIG_DIR'),
    'glance': ('glance', 'glance.wsgi.api:application', 'OS_GLANCE_CONFIG_DIR'),
    'glance2': ('glance2', 'glance.wsgi.api:application', 'OS_GLANCE_CONFIG_DIR'),
    'placement': ('placement', 'placement.wsgi.api:application', 'OS_PLACEMENT_CONFIG_DIR'),
    'neutron': ('neutron', 'neutron.wsgi.api:application', 'OS_NEUTRON_CONFIG_DIR'),
    'nova-api': ('nova', 'nova.wsgi.osapi_compute:application', 'OS_NOVA_CONFIG_DIR'),
    'cinder-api': ('cinder', 'cinder.wsgi.api:application', None),
}


def uwsgi_service(name):
    """UWSGI_SERVICES' entry; the Glance of a further region (glance3, ...: regions.py) is one more glance."""
    if name not in UWSGI_SERVICES and name.startswith('glance'):
        return (name,) + UWSGI_SERVICES['glance'][1:]
    return UWSGI_SERVICES[name]


class Stack:  # pylint: disable=too-many-public-methods
    """One stack's services, bound to its layout, port plan and services venv."""

    def __init__(self, layout, daemons, ports, venv, full, aborted):
        self.layout, self.daemons, self.ports, self.venv, self.full = layout, daemons, ports, venv, full
        self.aborted = aborted  # threading.Event set when another task failed
        self.compute = configs.stack_driver(layout, full)

    # -- helpers -------------------------------------------------------------------------------
    def env(self, **extra):
        """Caller's environment minus anything that would redirect Python or openstacksdk."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith('OS_') and key not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
        env['PATH'] = '%s:%s' % (self.venv / 'bin', env.get('PATH', '/usr/bin:/bin'))
        env.update(extra)
        return env

    def bin(self, name):
        return str(self.venv / 'bin' / name)

    def once(self, name, steps, parallel=0):
        """Run one-time steps unless their marker says they completed on an earlier start.

        parallel: how many leading steps are independent and may run at the same time.
        """
        marker = self.layout.marker(name)
        if marker.exists():
            return
        log = self.layout.log / (name + '.log')
        if parallel:
            with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                for future in [pool.submit(run, argv, log, env=env or self.env(), abort=self.aborted)
                               for argv, env in steps[:parallel]]:
                    future.result()
        for argv, env in steps[parallel:]:
            run(argv, log, env=env or self.env(), abort=self.aborted)
        marker.touch()

    def wait(self, name, check, procs, timeout=120):
        def checked():
            if self.aborted.is_set():
                raise StepFailed('aborted: another service failed')
            return check()
        wait_until(name, checked, self.daemons, procs=procs, timeout=timeout)

    def uwsgi(self, name):
        check, module, env_var = uwsgi_service(name)
        argv = [self.bin('uwsgi'), '--http-socket', '127.0.0.1:%d' % self.ports[check],
                # python-requests reuses connections; uwsgi's http-socket then resets the 2nd request.
                '--add-header', 'Connection: close',
                '--module', module, '--virtualenv', str(self.venv), '--master', '--processes', '1',
                '--threads', '4', '--enable-threads', '--lazy-apps', '--die-on-term', '--need-app',
                '--buffer-size', '65535', '--worker-reload-mercy', '5', '--procname-prefix', 'localcloud-']
        if env_var:
            argv += ['--env', '%s=%s' % (env_var, self.layout.etc / name.split('-')[0])]
        if name.startswith('glance'):
            # Nova (snapshot, shelve) and Cinder upload through glanceclient in 1 MiB chunks, which
            # uwsgi's default chunked-input-limit (1 MiB) refuses: "unable to receive chunked part".
            argv += ['--http-raw-body', '--http-chunked-input', '--chunked-input-limit', str(8 << 20)]
        if name == 'cinder-api':  # cinder's WSGI entry point parses sys.argv
            argv += ['--pyargv', '--config-file %s' % (self.layout.etc / 'cinder' / 'cinder.conf')]
        self.daemons.spawn(name, argv, env=self.env())
        self.wait(name, lambda: probe(check, self.ports[check]), [name])

    def daemon(self, name, argv, env=None):
        self.daemons.spawn(name, argv, env=env or self.env())
        time.sleep(0.5)
        if not self.daemons.running(name):
            log = self.daemons.logfile(name)
            raise StepFailed('%s exited at start-up; tail of %s:\n%s' % (name, log, tail(log)))

    def bootstrap(self, phase, watch, config=None):
        """Run bootstrap.py; fail fast with the right log if a watched daemon dies meanwhile."""
        log = self.layout.log / ('bootstrap-%s.log' % phase)
        argv = [self.bin('python'), str(BOOTSTRAP), str(config or self.layout.etc / 'bootstrap.json'), phase]
        with open(log, 'ab') as handle:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT, env=self.env())
        try:
            self.wait('bootstrap ' + phase, lambda: proc.poll() is not None, watch, timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode:
            raise StepFailed('bootstrap %s failed (%s); tail of %s:\n%s' % (phase, proc.returncode, log, tail(log)))

    # -- configuration ------------------------------------------------------------------------------
    def write_configs(self):
        layout, ports, venv = self.layout, self.ports, self.venv
        configs.keystone(layout)
        configs.glance(layout, ports, venv, 'glance', [], self.full)
        configs.glance(layout, ports, venv, 'glance2', ['image_decompression', 'image_conversion'], self.full)
        if self.full:
            configs.mysql(layout, ports)
            configs.placement(layout, ports)
            configs.neutron(layout, ports, venv)
            configs.nova(layout, ports, venv, self.compute)
            if self.compute == 'libvirt':
                configs.libvirt(layout)
            configs.cinder(layout, ports, venv)
        configs.clouds_yaml(layout, ports)
        layout.write_json(layout.etc / 'bootstrap.json', self.bootstrap_config())

    def bootstrap_config(self):
        url = functools.partial(configs.url, self.ports)
        services = [{'name': 'keystone', 'type': 'identity', 'endpoints': {'RegionTwo': url('keystone', '/v3')}},
                    {'name': 'glance', 'type': 'image',
                     'endpoints': {'RegionOne': url('glance'), 'RegionTwo': url('glance2')}}]
        if self.full:
            volume = url('cinder', '/v3/%(project_id)s')
            services += [
                {'name': 'placement', 'type': 'placement', 'endpoints': {'RegionOne': url('placement')}},
                {'name': 'neutron', 'type': 'network', 'endpoints': {'RegionOne': url('neutron')}},
                {'name': 'nova', 'type': 'compute', 'endpoints': {'RegionOne': url('nova', '/v2.1')}},
                {'name': 'cinderv3', 'type': 'volumev3', 'endpoints': {'RegionOne': volume}},
                {'name': 'cinder', 'type': 'block-storage', 'endpoints': {'RegionOne': volume}},
            ]
        users = {
            'demo': {'project': 'demo', 'roles': ['member', 'reader']},
            'alt': {'project': 'alt', 'roles': ['member', 'reader']},
            'demo-reader': {'project': 'demo', 'roles': ['reader']},
        }
        for user in configs.SERVICE_USERS:
            users[user] = {'project': 'service', 'roles': ['admin', 'service'], 'password': user + '-secret'}
        for user, spec in users.items():
            spec.setdefault('password', configs.USER_PASSWORDS.get(user))
        return {
            'auth_url': url('keystone', '/v3'), 'admin_password': configs.ADMIN_PASSWORD,
            'regions': list(configs.REGIONS), 'projects': ['service', 'demo', 'alt'], 'users': users,
            'services': services,
            # m1.boot: what a real (TCG) boot test of the mirror's tiny images needs, for image_boot_test
            # alone; the daily sync's default image_sync_min_ram (512) needs m1.tiny (its check refuses m1.boot).
            'flavors': [{'name': 'm1.boot', 'ram': 256, 'vcpus': 1, 'disk': 1},
                        {'name': 'm1.tiny', 'ram': 512, 'vcpus': 1, 'disk': 1},
                        {'name': 'm1.small', 'ram': 2048, 'vcpus': 1, 'disk': 20}],
            'discover_hosts': [self.bin('nova-manage'), '--config-file', str(self.layout.etc / 'nova' / 'nova.conf'),
                               'cell_v2', 'discover_hosts', '--verbose'],
        }

    # -- tasks ----------------------------------------------------------------------------------
    def tasks(self):
        mysql = ('mysql',) if self.full else ()  # Glance's database (see configs.glance)
        tasks = [
            ('keystone-db', (), self.keystone_db), ('keystone', ('keystone-db',), lambda: self.uwsgi('keystone')),
            ('identity', ('keystone',), self.identity),
            ('glance-db', mysql, lambda: self.glance_db('glance')), ('glance', ('glance-db',), lambda: self.uwsgi('glance')),
            ('glance2-db', mysql, lambda: self.glance_db('glance2')),
            ('glance2', ('glance2-db',), lambda: self.uwsgi('glance2')),
        ]
        if not self.full:
            return tasks
        nova_conf = ['--config-file', str(self.layout.etc / 'nova' / 'nova.conf')]
        cinder_conf = ['--config-file', str(self.layout.etc / 'cinder' / 'cinder.conf')]
        pylib_env = self.env(PYTHONPATH=str(self.layout.base / 'pylib'))
        libvirt = ()
        if self.compute == 'libvirt':
            libvirt = ('libvirtd',)
            tasks += [('virtlogd', (), lambda: self.libvirt_daemon('virtlogd')),
                      ('libvirtd', ('virtlogd',), lambda: self.libvirt_daemon('libvirtd'))]
        return tasks + [
            ('mysql', (), self.mysql), ('rabbitmq', (), self.rabbitmq),
            ('placement-db', ('mysql',), self.placement_db), ('placement', ('placement-db',), lambda: self.uwsgi('placement')),
            ('neutron-db', ('mysql',), self.neutron_db), ('neutron', ('neutron-db',), lambda: self.uwsgi('neutron')),
            ('nova-db', ('mysql',), self.nova_db), ('nova-api', ('nova-db',), lambda: self.uwsgi('nova-api')),
            ('nova-conductor', ('nova-db', 'rabbitmq'), lambda: self.daemon('nova-conductor', [self.bin('nova-conductor')] + nova_conf)),
            ('nova-scheduler', ('nova-db', 'rabbitmq'), lambda: self.daemon('nova-scheduler', [self.bin('nova-scheduler')] + nova_conf)),
            # compute registers its resource provider in placement at start-up: needs placement + its user.
            ('nova-compute', ('nova-db', 'rabbitmq', 'placement', 'identity') + libvirt,
             lambda: self.daemon('nova-compute', [self.bin('python'), '-m', 'localcloud_nova_compute'] + nova_conf,
                                 pylib_env)),
            ('cinder-db', ('mysql',), self.cinder_db), ('cinder-api', ('cinder-db',), lambda: self.uwsgi('cinder-api')),
            ('cinder-scheduler', ('cinder-db', 'rabbitmq'),
             lambda: self.daemon('cinder-scheduler', [self.bin('cinder-scheduler')] + cinder_conf, pylib_env)),
            ('cinder-volume', ('cinder-db', 'rabbitmq'),
             lambda: self.daemon('cinder-volume', [self.bin('cinder-volume')] + cinder_conf, pylib_env)),
            ('compute-bootstrap', ('identity', 'glance', 'neutron', 'nova-api', 'nova-conductor', 'nova-scheduler',
                                   'nova-compute', 'cinder-api', 'cinder-scheduler', 'cinder-volume'),
             lambda: self.bootstrap('compute', ['nova-api', 'nova-conductor', 'nova-scheduler', 'nova-compute', 'neutron',
                                                'placement', 'cinder-api', 'cinder-scheduler', 'cinder-volume'])),
        ]

    def libvirt_daemon(self, name):
        """libvirtd / virtlogd as root, each in a private mount namespace where the host paths they
        hard-code are this stack's BASE/data/libvirt/* (two stacks never share a socket or a domain)."""
        root = self.layout.data / 'libvirt'
        binds = ' && '.join('mkdir -p %s && mount --bind %s %s' % (target, root / key, target)
                            for key, target in configs.LIBVIRT_DIRS.items())
        conf = root / 'etc' / ('%s.conf' % name)
        # The pid file too: its default, /run/<name>.pid, is one per host.
        script = '%s && exec /usr/sbin/%s --config %s --pid-file %s' % (binds, name, conf, root / 'run' / (name + '.pid'))
        self.daemon(name, ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script],
                    env=os.environ.copy())
        sock = root / 'run' / ('libvirt-sock' if name == 'libvirtd' else 'virtlogd-sock')
        self.wait(name, sock.exists, [name], timeout=60)

    def stop_domains(self):
        """QEMU processes are daemonised by libvirtd (not its children): stop them by their pid files."""
        killed = 0
        for path in (self.layout.data / 'libvirt' / 'run' / 'qemu').glob('*.pid'):
            if path.name == 'driver.pid':  # libvirtd's own lock
                continue
            try:
                pid = int(path.read_text(encoding='ascii').strip())
                if alive(pid) and b'qemu-system' in Path('/proc/%d/cmdline' % pid).read_bytes():
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
            except (OSError, ValueError):
                continue
        return killed

    def keystone_db(self):
        conf = ['--config-file', str(self.layout.etc / 'keystone' / 'keystone.conf')]
        manage = [self.bin('keystone-manage')] + conf
        url = configs.url(self.ports, 'keystone', '/v3')
        self.once('keystone-db', [
            (manage + ['db_sync'], None),
            (manage + ['fernet_setup', '--keystone-user', 'root', '--keystone-group', 'root'], None),
            (manage + ['credential_setup', '--keystone-user', 'root', '--keystone-group', 'root'], None),
            (manage + ['bootstrap', '--bootstrap-password', configs.ADMIN_PASSWORD, '--bootstrap-admin-url', url,
                       '--bootstrap-internal-url', url, '--bootstrap-public-url', url,
                       '--bootstrap-region-id', 'RegionOne'], None),
        ], parallel=3)  # db_sync and the two key repositories are independent; bootstrap needs all three

    def identity(self):
        if not self.layout.marker('identity').exists():
            self.bootstrap('identity', ['keystone'])
            self.layout.marker('identity').touch()

    def glance_db(self, name):
        self.once(name + '-db', [([self.bin('glance-manage'), '--config-file',
                                   str(self.layout.etc / name / 'glance-api.conf'), 'db_sync'], None)])

    def mysql(self):
        cnf = '--defaults-file=%s' % (self.layout.etc / 'mysql' / 'my.cnf')
        self.once('mysql-install', [(['mariadb-install-db', cnf, '--auth-root-authentication-method=normal',
                                      '--skip-test-db', '--user=root'], os.environ.copy())])
        self.daemons.spawn('mysql', ['/usr/sbin/mariadbd', cnf], env=os.environ.copy())
        self.wait('mysql', lambda: mysql_greeting(self.ports['mysql']), ['mysql'], timeout=60)
        sql = ''.join('CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;' % db for db in configs.DATABASES)
        sql += ("CREATE USER IF NOT EXISTS '{0}'@'127.0.0.1' IDENTIFIED BY '{1}';"
                "GRANT ALL PRIVILEGES ON *.* TO '{0}'@'127.0.0.1';").format(configs.DB_USER, configs.DB_PASSWORD)
        self.once('mysql-databases', [(['mariadb', cnf, '-e', sql], os.environ.copy())])

    def rabbitmq(self):
        env = dict(os.environ, **configs.rabbit_env(self.layout, self.ports))
        cookie = Path(env['HOME']) / '.erlang.cookie'
        if not cookie.exists():  # written before server and CLI start, so both read the same one
            cookie.write_text(''.join(secrets.choice(string.ascii_uppercase) for _i in range(20)), encoding='ascii')
            cookie.chmod(0o400)
        # Own epmd, started first, so Erlang does not daemonize one we could not stop by pid.
        self.daemon('epmd', ['epmd', '-address', '127.0.0.1', '-port', str(self.ports['epmd'])], env)
        self.daemons.spawn('rabbitmq', [str(RABBIT_BIN / 'rabbitmq-server')], env=env)
        self.wait('rabbitmq', lambda: amqp_greeting(self.ports['rabbit']), ['rabbitmq'], timeout=100)

    def stop_rabbitmq(self):
        entry = self.daemons.read('rabbitmq')
        if entry and alive(*entry):
            env = dict(os.environ, **configs.rabbit_env(self.layout, self.ports))
            try:
                subprocess.run([str(RABBIT_BIN / 'rabbitmqctl'), '-n', env['RABBITMQ_NODENAME'], 'stop'], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
            except subprocess.TimeoutExpired:  # the CLI is slow to start under load; SIGTERM stops it too
                pass
        self.daemons.stop('rabbitmq')

    def placement_db(self):
        self.once('placement-db', [([self.bin('placement-manage'), '--config-file',
                                     str(self.layout.etc / 'placement' / 'placement.conf'), 'db', 'sync'], None)])

    def neutron_db(self):
        etc = self.layout.etc / 'neutron'
        self.once('neutron-db', [([self.bin('neutron-db-manage'), '--config-file', str(etc / 'neutron.conf'),
                                   '--config-file', str(etc / 'plugins' / 'ml2' / 'ml2_conf.ini'),
                                   'upgrade', 'heads'], None)])

    def nova_db(self):
        manage = [self.bin('nova-manage'), '--config-file', str(self.layout.etc / 'nova' / 'nova.conf')]
        self.once('nova-db', [
            (manage + ['api_db', 'sync'], None),
            (manage + ['cell_v2', 'map_cell0', '--database_connection', configs.db_url(self.ports, 'nova_cell0')], None),
            (manage + ['cell_v2', 'create_cell', '--name', 'cell1', '--verbose'], None),
            (manage + ['db', 'sync'], None),
        ])

    def cinder_db(self):
        self.once('cinder-db', [([self.bin('cinder-manage'), '--config-file',
                                  str(self.layout.etc / 'cinder' / 'cinder.conf'), 'db', 'sync'], None)])

    def healthy(self):
        """{service: bool} for the HTTP APIs of this stack."""
        names = [name for name in UWSGI_SERVICES if self.full or name in ('keystone', 'glance', 'glance2')]
        return {name: probe(UWSGI_SERVICES[name][0], self.ports[UWSGI_SERVICES[name][0]]) for name in names}
