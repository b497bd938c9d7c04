"""Config files for every service, written under BASE/etc from the port plan.

Values come from the recipe that was seen working (openstack-local.md); comments say why a
non-default setting is there.
"""

import os
import shutil

ADMIN_PASSWORD = 'admin-secret'
USER_PASSWORDS = {'admin': ADMIN_PASSWORD, 'demo': 'demo-secret', 'alt': 'alt-secret', 'demo-reader': 'reader-secret'}
SERVICE_USERS = ('glance', 'placement', 'neutron', 'nova', 'cinder')
DB_USER, DB_PASSWORD = 'os', 'os-secret'
DATABASES = ('placement', 'neutron', 'nova_api', 'nova_cell0', 'nova', 'cinder', 'glance', 'glance2')
REGIONS = ('RegionOne', 'RegionTwo')

CINDER_DRIVER = '''"""Cinder's shipped no-op LVM fake, but volumes are sparse files so create-from-image really converts,
and Nova attaches them as loop devices on this host (os-brick's local connector), so servers boot from them."""
import os
import subprocess

from cinder.tests import fake_driver


class FileBackedFakeDriver(fake_driver.FakeLoggingVolumeDriver):
    def _path(self, volume):
        return os.path.join(self.configuration.safe_get('state_path') or '/tmp', 'volumes', 'volume-' + volume['id'])

    def local_path(self, volume, vg=None):
        return self._path(volume)

    def create_volume(self, volume):
        os.makedirs(os.path.dirname(self._path(volume)), exist_ok=True)
        with open(self._path(volume), 'wb') as handle:
            handle.truncate(int(volume['size']) * 1024 ** 3)

    def delete_volume(self, volume):
        self._detach(volume)
        try:
            os.unlink(self._path(volume))
        except FileNotFoundError:
            pass

    def _loops(self, volume):
        listed = subprocess.run(['losetup', '--associated', self._path(volume)], capture_output=True, text=True)
        return [line.split(':', 1)[0] for line in listed.stdout.splitlines() if line.strip()]

    def _detach(self, volume):
        for device in self._loops(volume):
            subprocess.run(['losetup', '--detach', device], check=False)

    def validate_connector(self, connector):
        pass  # the local connector has no iSCSI initiator

    def initialize_connection(self, volume, connector):
        device = (self._loops(volume) or [subprocess.run(['losetup', '--find', '--show', self._path(volume)], check=True,
                                                         capture_output=True, text=True).stdout.strip()])[0]
        return {'driver_volume_type': 'local', 'data': {'device_path': device, 'access_mode': 'rw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        self._detach(volume)
'''


# nova-compute, started through this module: Nova 34 writes <loader secure="no"/> beside libvirt's
# firmware autoselection (<os firmware="efi">), which libvirt 9.0 (Debian 12) refuses for every UEFI
# guest ("loader attribute 'secure' cannot be specified when firmware autoselection is enabled"; 9.2
# accepts it). The <firmware><feature name="secure-boot"> Nova writes too says the same, so the
# attribute is dropped, as Nova itself does for TDX guests. Nothing else changes.
NOVA_COMPUTE = '''"""nova-compute with the UEFI loader shim of tools/localcloud/configs.py."""
import sys

from nova.cmd import compute  # first: nova.cmd monkey-patches eventlet
from nova.virt.libvirt import config

_format_os = config.LibvirtConfigGuest._format_os


def _without_loader_secure(self, root):
    if self.os_firmware == 'efi':
        self.os_loader_secure = None
    return _format_os(self, root)


config.LibvirtConfigGuest._format_os = _without_loader_secure
sys.exit(compute.main())
'''


def ini(sections):
    out = []
    for section, values in sections.items():
        out.append('[%s]' % section)
        out.extend('%s = %s' % (key, value) for key, value in values.items())
        out.append('')
    return '\n'.join(out)


def url(ports, name, path=''):
    return 'http://127.0.0.1:%d%s' % (ports[name], path)


def db_url(ports, name):
    return 'mysql+pymysql://%s:%s@127.0.0.1:%d/%s?charset=utf8mb4' % (DB_USER, DB_PASSWORD, ports['mysql'], name)


def rabbit_url(ports):
    return 'rabbit://guest:guest@127.0.0.1:%d/' % ports['rabbit']


def auth(ports, user, region=None):
    values = {
        'www_authenticate_uri': url(ports, 'keystone'), 'auth_url': url(ports, 'keystone'), 'auth_type': 'password',
        'project_domain_name': 'Default', 'user_domain_name': 'Default', 'project_name': 'service',
        'username': user, 'password': user + '-secret',
    }
    if region:
        values['region_name'] = region
    return values


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')


def keystone(layout):
    data = layout.data / 'keystone'
    data.mkdir(parents=True, exist_ok=True)
    write(layout.etc / 'keystone' / 'keystone.conf', ini({
        'database': {'connection': 'sqlite:///%s' % (data / 'keystone.sqlite')},
        'token': {'provider': 'fernet', 'expiration': 86400},
        'fernet_tokens': {'key_repository': data / 'fernet-keys'},
        'fernet_receipts': {'key_repository': data / 'fernet-keys'},
        'credential': {'key_repository': data / 'credential-keys'},
        # bcrypt's default 12 rounds cost 0.5 s per password token; 4 is plenty for a throwaway cloud.
        'identity': {'password_hash_rounds': 4},
        # Without a cache every token validation is ~200 SQL statements (300 ms per GET). Correct only
        # because keystone runs as ONE uwsgi process.
        'cache': {'enabled': 'true', 'backend': 'dogpile.cache.memory'},
    }))


def glance(layout, ports, venv, name, plugins, full):
    """name 'glance' = RegionOne (keeps qcow2), 'glance2' = RegionTwo (decompress + convert to raw).

    The full stack keeps Glance in MariaDB, as real clouds do: SQLite answered concurrent writes
    (an upload beside a listing) with an immediate "database is locked" 500, whatever its busy
    timeout. The light stack has no MariaDB and only one writer at a time.
    """
    etc, data = layout.etc / name, layout.data / name
    for sub in ('images', 'images2', 'staging', 'tasks', 'locks'):
        (data / sub).mkdir(parents=True, exist_ok=True)
    etc.mkdir(parents=True, exist_ok=True)
    shutil.copy(venv / 'etc' / 'glance' / 'glance-api-paste.ini', etc / 'glance-api-paste.ini')
    write(etc / 'glance-api.conf', ini({
        'DEFAULT': {
            'enabled_backends': 'local:file, local2:file',
            'enabled_import_methods': '[glance-direct,web-download,copy-image]',
            'worker_self_reference_url': url(ports, name),
            'public_endpoint': url(ports, name),
            'hashing_algorithm': 'sha512',
        },
        'database': {'connection': db_url(ports, name) if full else 'sqlite:///%s?timeout=60' % (data / 'glance.sqlite')},
        'glance_store': {'default_backend': 'local'},
        'local': {'filesystem_store_datadir': data / 'images', 'store_description': 'local file store'},
        'local2': {'filesystem_store_datadir': data / 'images2', 'store_description': 'second local file store'},
        'os_glance_staging_store': {'filesystem_store_datadir': data / 'staging'},
        'os_glance_tasks_store': {'filesystem_store_datadir': data / 'tasks'},
        # ListOpt(bounds=True): brackets are required; an empty value silently refuses every URI.
        # 127.0.0.1 must be listed literally or loopback addresses are rejected after DNS resolution.
        'import_filtering_opts': {'allowed_schemes': '[http,https]', 'allowed_hosts': '[127.0.0.1]',
                                  'allowed_ports': '[]'},
        'keystone_authtoken': auth(ports, 'glance'),
        'paste_deploy': {'flavor': 'keystone', 'config_file': etc / 'glance-api-paste.ini'},
        'wsgi': {'python_interpreter': venv / 'bin' / 'python'},
        'oslo_concurrency': {'lock_path': data / 'locks'},
    }))
    write(etc / 'glance-image-import.conf', ini({
        'image_import_opts': {'image_import_plugins': '[%s]' % ', '.join(plugins)},
        'image_conversion': {'output_format': 'raw'},
    }))


def placement(layout, ports):
    write(layout.etc / 'placement' / 'placement.conf', ini({
        'placement_database': {'connection': db_url(ports, 'placement')},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': auth(ports, 'placement'),
    }))


def neutron(layout, ports, venv):
    etc, data = layout.etc / 'neutron', layout.data / 'neutron'
    (data / 'locks').mkdir(parents=True, exist_ok=True)
    etc.mkdir(parents=True, exist_ok=True)
    shutil.copy(venv / 'etc' / 'neutron' / 'api-paste.ini', etc / 'api-paste.ini')
    write(etc / 'neutron.conf', ini({
        'DEFAULT': {
            'host': 'oslocal', 'core_plugin': 'ml2',
            # port_forwarding defines the Port.port_forwardings backref that GET /v2.0/ports needs.
            'service_plugins': 'router,port_forwarding', 'auth_strategy': 'keystone',
            'bind_host': '127.0.0.1', 'bind_port': ports['neutron'], 'api_paste_config': etc / 'api-paste.ini',
            'transport_url': rabbit_url(ports), 'notify_nova_on_port_status_changes': 'false',
            'notify_nova_on_port_data_changes': 'false', 'state_path': data,
        },
        'database': {'connection': db_url(ports, 'neutron')},
        'keystone_authtoken': auth(ports, 'neutron'),
        'oslo_concurrency': {'lock_path': data / 'locks'},
    }))
    # Neutron API only: nova asks it for security groups on every server GET; no agents, no bindings.
    write(etc / 'plugins' / 'ml2' / 'ml2_conf.ini', ini({
        'ml2': {'type_drivers': 'flat', 'project_network_types': '', 'mechanism_drivers': '',
                'extension_drivers': 'port_security'},
        'ml2_type_flat': {'flat_networks': '*'},
    }))


def compute_driver():
    """The compute driver of a new full stack: 'libvirt' (QEMU/TCG, real boots; the default) or
    'fake' (Nova's FakeDriver: ACTIVE for any bytes, a fixed console), from CLOUDIMAGES_COMPUTE."""
    value = os.environ.get('CLOUDIMAGES_COMPUTE') or 'libvirt'
    if value not in ('libvirt', 'fake'):
        raise ValueError('CLOUDIMAGES_COMPUTE must be libvirt or fake, not %r' % value)
    return value


def stack_driver(layout, full=True):
    """What Nova runs in the stack under layout: an existing stack answers from its own nova.conf
    (so a reused stack decides, whatever the caller's environment says), a new one from
    compute_driver(); None without Nova (light)."""
    if not full:
        return None
    try:
        text = (layout.etc / 'nova' / 'nova.conf').read_text(encoding='utf-8')
    except (AttributeError, FileNotFoundError):  # no layout, or not configured yet
        return compute_driver()
    return 'libvirt' if 'compute_driver = libvirt.' in text else 'fake'


# The host paths libvirtd (as root) hard-codes; each stack's libvirtd and virtlogd see its own
# BASE/data/libvirt/<key> there, through a private mount namespace.
LIBVIRT_DIRS = {'run': '/run/libvirt', 'lib': '/var/lib/libvirt', 'cache': '/var/cache/libvirt',
                'log': '/var/log/libvirt', 'etc': '/etc/libvirt'}


def libvirt_socket(layout):
    return layout.data / 'libvirt' / 'run' / 'libvirt-sock'


def libvirt(layout):
    root = layout.data / 'libvirt'
    for key in LIBVIRT_DIRS:
        (root / key).mkdir(parents=True, exist_ok=True)
    # No polkit, no TCP: only the per-stack unix socket, reachable by root.
    write(root / 'etc' / 'libvirtd.conf', 'unix_sock_group = "root"\nunix_sock_rw_perms = "0700"\n'
          'auth_unix_rw = "none"\nauth_unix_ro = "none"\nlog_outputs = "3:stderr"\n')
    write(root / 'etc' / 'virtlogd.conf', 'log_outputs = "3:stderr"\n')
    # Container: no cgroup delegation, no AppArmor/SELinux, runs as root.
    write(root / 'etc' / 'qemu.conf', 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\n'
          'security_driver = "none"\ncgroup_controllers = [ ]\nremember_owner = 0\n')


def nova(layout, ports, venv, driver='libvirt'):
    etc, data = layout.etc / 'nova', layout.data / 'nova'
    write(layout.base / 'pylib' / 'localcloud_nova_compute.py', NOVA_COMPUTE)
    (data / 'instances').mkdir(parents=True, exist_ok=True)
    etc.mkdir(parents=True, exist_ok=True)
    shutil.copy(venv / 'etc' / 'nova' / 'api-paste.ini', etc / 'api-paste.ini')
    write(etc / 'nova.conf', ini({
        'DEFAULT': {
            'host': 'oslocal', 'my_ip': '127.0.0.1', 'state_path': data, 'instances_path': data / 'instances',
            'compute_driver': 'libvirt.LibvirtDriver' if driver == 'libvirt' else 'fake.FakeDriver',
            'transport_url': rabbit_url(ports),
            # Domain names are per host, and two stacks may share one: keep them apart.
            'instance_name_template': 'lc%d-%%08x' % ports['keystone'],
            'enabled_apis': 'osapi_compute', 'osapi_compute_listen': '127.0.0.1', 'metadata_listen': '127.0.0.1',
            # The default random start delay (up to 60 s) postpones periodic tasks such as host discovery.
            'periodic_fuzzy_delay': 0,
            # A test cloud has nothing worth a 60 s graceful drain; keeps stop() short.
            'graceful_shutdown_timeout': 2,
            # Soft delete as on many production clouds: a deleted server is SOFT_DELETED (restorable,
            # still using its image) for an hour; tests that delete for good force-delete.
            'reclaim_instance_interval': 3600,
        },
        'api': {'auth_strategy': 'keystone'},
        'wsgi': {'api_paste_config': etc / 'api-paste.ini'},
        'api_database': {'connection': db_url(ports, 'nova_api')},
        'database': {'connection': db_url(ports, 'nova')},
        'conductor': {'workers': 1},
        'scheduler': {'workers': 1, 'discover_hosts_in_cells_interval': 5},
        'keystone_authtoken': auth(ports, 'nova'),
        'service_user': dict(auth(ports, 'nova'), send_service_user_token='true'),
        'placement': auth(ports, 'placement', 'RegionOne'),
        'neutron': auth(ports, 'neutron', 'RegionOne'),
        # Two regions have an image endpoint; nova must use RegionOne's.
        'glance': {'region_name': 'RegionOne'},
        'cinder': {'os_region_name': 'RegionOne'},
        'oslo_concurrency': {'lock_path': data / 'locks'},
        'oslo_messaging_notifications': {'driver': 'noop'},
        'vnc': {'enabled': 'false'},
        # TCG (/dev/kvm cannot run a BIOS boot here); the serial console goes to console.log.
        'libvirt': {'virt_type': 'qemu', 'cpu_mode': 'none',
                    'connection_uri': 'qemu+unix:///system?socket=%s' % libvirt_socket(layout)},
        # No sudo and we are root: start privsep directly instead of "sudo nova-rootwrap", also for
        # os-brick's volume attachments (boot from volume).
        'nova_sys_admin': {'helper_command': '%s --config-file %s' % (venv / 'bin' / 'privsep-helper',
                                                                      etc / 'nova.conf')},
        'privsep_osbrick': {'helper_command': '%s --config-file %s' % (venv / 'bin' / 'privsep-helper',
                                                                       etc / 'nova.conf')},
    }))


def cinder(layout, ports, venv):
    etc, data = layout.etc / 'cinder', layout.data / 'cinder'
    (data / 'locks').mkdir(parents=True, exist_ok=True)
    etc.mkdir(parents=True, exist_ok=True)
    shutil.copy(venv / 'etc' / 'cinder' / 'api-paste.ini', etc / 'api-paste.ini')
    # Without it find_volume(<name or id>) fails: "Invalid filters name are found in query options".
    shutil.copy(venv / 'etc' / 'cinder' / 'resource_filters.json', etc / 'resource_filters.json')
    write(layout.base / 'pylib' / 'localcloud_cinder_driver.py', CINDER_DRIVER)
    conf = etc / 'cinder.conf'
    # No sudo here and we are root: start privsep directly instead of "sudo cinder-rootwrap".
    privsep = {'helper_command': '%s --config-file %s' % (venv / 'bin' / 'privsep-helper', conf)}
    write(conf, ini({
        'DEFAULT': {
            'host': 'oslocal', 'my_ip': '127.0.0.1', 'state_path': data, 'transport_url': rabbit_url(ports),
            'auth_strategy': 'keystone', 'osapi_volume_listen': '127.0.0.1', 'osapi_volume_listen_port': ports['cinder'],
            'api_paste_config': etc / 'api-paste.ini', 'resource_query_filters_file': etc / 'resource_filters.json',
            'enabled_backends': 'fake', 'default_volume_type': '__DEFAULT__', 'periodic_fuzzy_delay': 0,
            'graceful_shutdown_timeout': 2,
            # Two regions have an image endpoint; pin RegionOne's glance.
            'glance_api_servers': url(ports, 'glance'),
        },
        'database': {'connection': db_url(ports, 'cinder')},
        'keystone_authtoken': dict(auth(ports, 'cinder'), service_token_roles_required='true'),
        'oslo_concurrency': {'lock_path': data / 'locks'},
        'oslo_messaging_notifications': {'driver': 'noop'},
        'fake': {'volume_driver': 'localcloud_cinder_driver.FileBackedFakeDriver', 'volume_backend_name': 'fake'},
        'cinder_sys_admin': privsep,
        'privsep_osbrick': privsep,
    }))


def mysql(layout, ports):
    write(layout.etc / 'mysql' / 'my.cnf', ini({
        'mysqld': {
            'datadir': layout.data / 'mysql', 'socket': layout.run / 'mysqld.sock', 'port': ports['mysql'],
            'bind-address': '127.0.0.1', 'user': 'root', 'log-error': layout.log / 'mysqld-error.log',
            'innodb_buffer_pool_size': '64M', 'innodb_log_file_size': '16M', 'innodb_flush_log_at_trx_commit': 0,
            'performance_schema': 'off',
            'skip-name-resolve': 'on', 'max_connections': 500,
        },
        'client': {'socket': layout.run / 'mysqld.sock', 'user': 'root'},
    }))


def rabbit_env(layout, ports):
    """Own RabbitMQ node (and own epmd) on loopback; the node name holds the port so stacks can coexist."""
    etc = layout.etc / 'rabbitmq'
    write(etc / 'rabbitmq.conf', 'listeners.tcp.default = 127.0.0.1:%d\nloopback_users.guest = true\n'
          'log.console = false\n' % ports['rabbit'])
    write(etc / 'enabled_plugins', '[].\n')
    home = layout.data / 'rabbitmq-home'  # the erlang cookie lives in $HOME; keep it per stack
    home.mkdir(parents=True, exist_ok=True)
    return {
        'HOME': str(home),
        'RABBITMQ_NODENAME': 'localcloud%d@localhost' % ports['rabbit'],
        'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1', 'RABBITMQ_NODE_PORT': str(ports['rabbit']),
        'RABBITMQ_DIST_PORT': str(ports['rabbit_dist']),
        'ERL_EPMD_ADDRESS': '127.0.0.1', 'ERL_EPMD_PORT': str(ports['epmd']),
        'RABBITMQ_MNESIA_BASE': str(layout.data / 'rabbitmq'), 'RABBITMQ_LOG_BASE': str(layout.log / 'rabbitmq'),
        'RABBITMQ_PID_FILE': str(layout.run / 'rabbitmq-beam.pidfile'),
        'RABBITMQ_CONFIG_FILE': str(etc / 'rabbitmq'), 'RABBITMQ_ENABLED_PLUGINS_FILE': str(etc / 'enabled_plugins'),
        'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS': '-kernel inet_dist_use_interface {127,0,0,1}',
    }


def clouds_yaml(layout, ports, regions=REGIONS):
    """clouds.yaml by hand (YAML emitter is not stdlib); regions list so region_name selects RegionTwo."""
    projects = {'admin': 'admin', 'demo': 'demo', 'alt': 'alt', 'demo-reader': 'demo'}
    lines = ['clouds:']
    for cloud, project in projects.items():
        lines += [
            '  %s:' % cloud,
            '    auth:',
            '      auth_url: %s' % url(ports, 'keystone', '/v3'),
            '      username: %s' % cloud,
            '      password: %s' % USER_PASSWORDS[cloud],
            '      project_name: %s' % project,
            '      user_domain_name: Default',
            '      project_domain_name: Default',
            '    regions: [%s]' % ', '.join(regions),
            '    identity_api_version: 3',
            '    interface: public',
        ]
    write(layout.clouds_yaml, '\n'.join(lines) + '\n')
