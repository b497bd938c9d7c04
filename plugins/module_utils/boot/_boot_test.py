# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Boot a candidate image once in Nova before it is promoted, and always clean up after.

The test server is named ``<prefix><image id>-<random>``, so a later run can recognise and
delete the leftovers of a run that was killed before its ``finally`` (see ``orphans``).

A failure is either the image's (the server went to ERROR, never became ACTIVE, never printed
the console marker, never answered on SSH): then the image is deleted when asked to; or the
request's (Nova refused it: quota, a flavor too small for the image's min_disk, an unknown key
pair): then the image is kept, since it was never tried.
"""

from __future__ import annotations

import re
import socket
import time
import uuid

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance, GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import from_sdk
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import parse_time, utcnow
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH

DEFAULT_PREFIX = 'cloudimages-boot-test-'
# Only candidates are ever deleted on failure; a promoted image stays whatever the test says.
DELETABLE_VISIBILITIES = ('private', 'shared')
ACTIVE_POLL = 1.0
CONSOLE_POLL = 5.0
# The console is read every second at first: a small image is often up within seconds, and a
# coarse poll would add up to CONSOLE_POLL to every boot test.
CONSOLE_QUICK = 20.0
SSH_RETRY = 3.0
DELETE_ATTEMPTS = 3


class BootTestError(Exception):
    """Bad configuration found before anything was created (unknown image, flavor, network).

    ``setting``: the option at fault (flavor, min_ram, min_disk, network), for a caller that names
    its own knob for it."""

    def __init__(self, reason, setting=None):
        super().__init__(reason)
        self.setting = setting


class BootTestFailure(Exception):
    """The boot test ran and failed; ``image_at_fault`` says whether the image is to blame.

    ``setting``: the option whose wait ran out (timeout, console_timeout), for a caller that names
    its own knob for it."""

    def __init__(self, reason, image_at_fault, setting=None):
        super().__init__(reason)
        self.reason = reason
        self.image_at_fault = image_at_fault
        self.setting = setting


# Set on every test server (value: the image id); an orphan must carry it.
METADATA_KEY = 'cloudimages_boot_test'
# What Nova needs on an image to boot it as its architecture, emulated (QEMU TCG) where the compute
# host's differs; Glance's ``architecture`` is Nova's hw_architecture. An aarch64 guest has no
# BIOS and no PC machine: UEFI on QEMU's virt machine.
ARCH_PROPERTIES = {'aarch64': {'hw_firmware_type': 'uefi', 'hw_machine_type': 'virt'}}


def arch_properties(arch):
    """The image properties a boot as ``arch`` needs (the sync sets them at upload)."""
    return dict(ARCH_PROPERTIES.get(arch, {}), architecture=arch)


def arch_mismatch(properties, arch=None):
    """``(arch, why)``: the architecture an image with ``properties`` is tested as (``arch``, else
    its own, else x86_64) and why Nova would not boot it so (None when it would)."""
    arch = arch or properties.get('architecture') or DEFAULT_ARCH
    wanted = arch_properties(arch)
    if arch == DEFAULT_ARCH and 'architecture' not in properties:
        del wanted['architecture']  # an image without one boots as the host's
    wrong = ['%s=%s' % item for item in sorted(wanted.items()) if str(properties.get(item[0])) != item[1]]
    if not wrong:
        return arch, None
    return arch, 'Nova boots it as %s only with the image properties %s' % (arch, ', '.join(wrong))


def flavor_too_small(flavor, min_ram, min_disk):
    """``(setting, why)`` Nova would refuse ``flavor`` for an image with ``min_ram`` (MB) and
    ``min_disk`` (GB); None if it fits. A flavor with disk 0 takes the image's size (no min_disk check).
    """
    if flavor.ram < min_ram:
        return 'min_ram', 'flavor %r has %d MB of RAM, less than min_ram %d MB (Nova refuses such a boot)' % (
            flavor.name, flavor.ram, min_ram)
    if flavor.disk and flavor.disk < min_disk:
        return 'min_disk', 'flavor %r has a %d GB disk, less than min_disk %d GB (Nova refuses such a boot)' % (
            flavor.name, flavor.disk, min_disk)
    return None


def server_name(prefix, image_id):
    return '%s%s-%s' % (prefix, image_id, uuid.uuid4().hex[:6])


def orphans(servers, prefix, now, max_age, project_id):
    """Servers left by earlier runs: made by this test in ``project_id`` and older than ``max_age`` seconds.

    ``servers`` are dicts with id, name, created_at, metadata and project_id. A name prefix
    alone proves nothing (anyone can name a server so): the server must carry the metadata
    ``create`` sets, its name must be ``<prefix><that image id>-``, and it must be ours.
    Younger ones may belong to a run still in progress, so they are left alone.
    """
    found = []
    for server in servers:
        image_id = (server.get('metadata') or {}).get(METADATA_KEY)
        if not image_id or not project_id or server.get('project_id') != project_id:
            continue
        if not (server['name'] or '').startswith('%s%s-' % (prefix, image_id)):
            continue
        if (now - parse_time(server['created_at'])).total_seconds() > max_age:
            found.append(server)
    return found


def tail(text, lines):
    return (text or '').splitlines()[-lines:] if lines > 0 else []


def find_marker(text, pattern):
    """The first console line matching the regex ``pattern``, or None."""
    regex = re.compile(pattern)
    return next((line for line in (text or '').splitlines() if regex.search(line)), None)


def judge_console(text, marker, fail_pattern=None, build=None):
    """What a console log says so far: ``('pass', line)``, ``('fail', why)`` or ``('wait', None)``.

    ``fail_pattern`` (regex, e.g. ``Kernel panic``) fails at once, even after the marker: a panic
    after the login prompt is still a broken image. ``build``: a string the console must show too,
    for images that print their build, so a stale or foreign build cannot pass.
    """
    failed = find_marker(text, fail_pattern) if fail_pattern else None
    if failed is not None:
        return 'fail', 'console showed %r' % failed.strip()
    line = find_marker(text, marker)
    if line is None:
        return 'wait', None
    if build and build not in (text or ''):
        return 'fail', 'console showed %r but not the uploaded build %r' % (line.strip(), build)
    return 'pass', line


def poll(fetch, done, failed, timeout, interval, clock=time.monotonic, sleep=time.sleep, quick=0.0):
    """Call ``fetch`` until ``done(obj)`` or ``failed(obj)`` or ``timeout`` seconds have passed.

    Returns ``(outcome, obj)`` with outcome ``done``, ``failed`` or ``timeout``; it always
    fetches at least once, and once more at the deadline. It waits ``interval`` seconds between
    calls, but only one second during the first ``quick`` seconds.
    """
    start = clock()
    deadline = start + timeout
    while True:
        obj = fetch()
        if done(obj):
            return 'done', obj
        if failed(obj):
            return 'failed', obj
        now = clock()
        if now >= deadline:
            return 'timeout', obj
        sleep(min(1.0 if now - start < quick else interval, deadline - now))


def pick_address(addresses, kind):
    """First IPv4 (else IPv6) address of ``kind`` (``fixed`` or ``floating``) in Nova's ``addresses``."""
    found = [a for net in sorted(addresses or {}) for a in addresses[net] if a.get('OS-EXT-IPS:type', 'fixed') == kind]
    found.sort(key=lambda a: a.get('version') != 4)
    return found[0]['addr'] if found else None


def ssh_banner(host, port, timeout, clock=time.monotonic, sleep=time.sleep):
    """Wait until ``host:port`` accepts TCP and sends an SSH identification line; return that line.

    This proves that the guest booted its network and started sshd, not that a login works.
    """
    deadline = clock() + timeout
    last = 'no attempt'
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(1.0, min(10.0, deadline - clock()))) as sock:
                line = sock.makefile('rb').readline(256).decode('ascii', 'replace').strip()
            if line.startswith('SSH-'):
                return line
            last = 'no SSH identification, got %r' % line[:80]
        except OSError as exc:
            last = str(exc) or type(exc).__name__
        if clock() >= deadline:
            raise BootTestFailure('no SSH banner from %s:%d within %ds: %s' % (host, port, timeout, last),
                                  image_at_fault=True)
        sleep(min(SSH_RETRY, max(0.0, deadline - clock())))


def fault_text(server):
    fault = getattr(server, 'fault', None) or {}
    if not fault.get('message'):
        return 'no fault recorded'
    return '%s (code %s)' % (fault['message'].strip(), fault.get('code'))


class BootTest:
    """One boot test. ``opts`` holds the module's options (see image_boot_test)."""

    def __init__(self, conn, opts, clock=time.monotonic, sleep=time.sleep):
        self.conn = conn
        self.opts = opts
        self.clock = clock
        self.sleep = sleep
        self.warnings = []
        self.arch = opts.get('architecture') or DEFAULT_ARCH  # resolve() reads the image's

    # -- before anything is created --------------------------------------------------------
    def resolve(self):
        """Look up image, flavor and network; raise BootTestError for anything unknown."""
        from openstack import exceptions  # pylint: disable=import-outside-toplevel
        opts = self.opts
        try:
            image = self.conn.image.get_image(opts['image'])
        except exceptions.NotFoundException:
            raise BootTestError('image %s not found (it must be an id visible to this project)'
                                % opts['image']) from None
        if image.status != 'active':
            raise BootTestError('image %s is %s, not active: there is nothing to boot' % (image.id, image.status))
        arch, why = arch_mismatch(from_sdk(image)['properties'], opts.get('architecture'))
        if why:
            raise BootTestError('image %s: %s' % (image.id, why), 'architecture')
        self.arch = arch
        return (image,) + self.resolve_settings()

    def resolve_settings(self):
        """``(flavor, networks)``: the flavor exists and fits min_ram/min_disk, the network exists."""
        opts = self.opts
        if not (opts['flavor'] or '').strip():
            raise BootTestError('no flavor given', 'flavor')
        flavor = self.conn.compute.find_flavor(opts['flavor'], ignore_missing=True)
        if flavor is None:
            raise BootTestError('flavor %r not found' % opts['flavor'], 'flavor')
        too_small = flavor_too_small(flavor, opts.get('min_ram') or 0, opts.get('min_disk') or 0)
        if too_small:
            raise BootTestError(too_small[1], too_small[0])
        network = opts['network'] or 'auto'
        if network.lower() in ('auto', 'none'):
            networks = network.lower()
        else:
            found = self.conn.network.find_network(network, ignore_missing=True)
            if found is None:
                raise BootTestError('network %r not found' % network, 'network')
            networks = [{'uuid': found.id}]
        return flavor, networks

    def max_run_time(self):
        """What one run may take at most (boot, checks, deletion): an older server with our prefix is an orphan."""
        opts = self.opts
        if opts.get('orphan_age') is not None:
            return opts['orphan_age']
        return opts['timeout'] * 2 + (opts['console_timeout'] if opts['console_marker'] else 0) + \
            ((opts['ssh'] or {}).get('timeout') or 0)

    def find_orphans(self):
        prefix = self.opts['server_name_prefix']
        servers = [{'id': s.id, 'name': s.name, 'created_at': s.created_at, 'metadata': dict(s.metadata or {}),
                    'project_id': s.project_id}
                   for s in self.conn.compute.servers(name='^' + re.escape(prefix))]
        return orphans(servers, prefix, utcnow(), self.max_run_time(),
                       self.conn.current_project_id)

    # -- the test ----------------------------------------------------------------------------
    def run(self, image, flavor, networks, stale):
        """Boot, check, delete. Returns the result dict; ``passed`` False carries ``reason``."""
        opts = self.opts
        started = self.clock()
        result = dict(passed=False, reason=None, server=None, console_tail=[], console_match=None, ssh_banner=None,
                      image_deleted=False, orphans_deleted=[], architecture=self.arch)
        for orphan in stale:
            self.delete_server(orphan['id'])
            result['orphans_deleted'].append(orphan['id'])
        server = failure = None
        try:
            server = self.create(image, flavor, networks)
            result['server'] = dict(id=server.id, name=server.name, status=server.status, fault=None, deleted=False)
            server = self.wait_active(server, result)
            if opts['console_marker']:
                result['console_match'] = self.wait_marker(server)
            if opts['ssh']:
                result['ssh_banner'] = self.check_ssh(server)
            result['passed'] = True
        except BootTestFailure as exc:
            failure = exc
            kept = '' if exc.image_at_fault else '; the image was kept: Nova never tried it'
            result['reason'] = exc.reason + kept
            if exc.setting:
                result['setting'] = exc.setting
        finally:
            if server is not None:
                result['console_tail'] = self.console_tail(server)
                if result['passed'] or not opts['keep_server_on_failure']:
                    result['server']['deleted'] = self.delete_server(server.id)
        # Only after the server is gone: a copy-on-write backend (Ceph) refuses to delete an image in use.
        if failure is not None and failure.image_at_fault and opts['delete_image_on_failure']:
            result['image_deleted'] = self.delete_image(image)
        result['duration'] = round(self.clock() - started, 1)
        return result

    def create(self, image, flavor, networks):
        from openstack import exceptions  # pylint: disable=import-outside-toplevel
        opts = self.opts
        attrs = dict(name=server_name(opts['server_name_prefix'], image.id), image_id=image.id, flavor_id=flavor.id,
                     networks=networks, metadata={METADATA_KEY: image.id})
        if opts['key_name']:
            attrs['key_name'] = opts['key_name']
        if opts['security_groups']:
            attrs['security_groups'] = [{'name': name} for name in opts['security_groups']]
        try:
            return self.conn.compute.create_server(**attrs)
        except exceptions.HttpException as exc:
            raise BootTestFailure('Nova refused to boot image %s with flavor %s (HTTP %s): %s' % (
                image.id, flavor.name, exc.status_code, exc.details or exc.message), image_at_fault=False) from None

    def wait_active(self, server, result):
        outcome, server = poll(lambda: self.conn.compute.get_server(server.id), lambda s: s.status == 'ACTIVE',
                               lambda s: s.status == 'ERROR', self.opts['timeout'], ACTIVE_POLL, self.clock, self.sleep)
        result['server'].update(status=server.status, fault=getattr(server, 'fault', None) or None)
        if outcome == 'failed':
            raise BootTestFailure('server %s went to ERROR: %s' % (server.id, fault_text(server)), image_at_fault=True)
        if outcome == 'timeout':
            raise BootTestFailure('server %s was not ACTIVE after %ds (status %s, task state %s)' % (
                server.id, self.opts['timeout'], server.status, server.task_state),
                image_at_fault=True, setting='timeout')
        return server

    def console(self, server, lines=None, gone_fails=False):
        from openstack import exceptions  # pylint: disable=import-outside-toplevel
        try:
            return self.conn.compute.get_server_console_output(server.id, length=lines).get('output') or ''
        except exceptions.NotFoundException:
            if gone_fails:  # waiting on would only time out; not the image's fault
                why = 'server %s was deleted during its boot test (by another run, as an orphan?)'
                raise BootTestFailure(why % server.id, image_at_fault=False) from None
            return ''
        except exceptions.HttpException:
            return ''  # not yet available, or not in this state / on this hypervisor

    def wait_marker(self, server):
        opts = self.opts
        fail_pattern, build = opts.get('console_failure'), opts.get('console_build')

        def verdict(text):
            return judge_console(text, opts['console_marker'], fail_pattern, build)[0]

        outcome, text = poll(lambda: self.console(server, gone_fails=True),
                             lambda t: verdict(t) == 'pass',
                             lambda t: verdict(t) == 'fail', opts['console_timeout'], CONSOLE_POLL,
                             self.clock, self.sleep, quick=CONSOLE_QUICK)
        state, detail = judge_console(text, opts['console_marker'], fail_pattern, build)
        if state == 'fail':
            raise BootTestFailure('server %s did not boot: %s' % (server.id, detail), image_at_fault=True)
        if outcome != 'done':
            raise BootTestFailure('console of server %s showed no line matching %r within %ds (%d lines of output)'
                                  % (server.id, opts['console_marker'], opts['console_timeout'],
                                     len(text.splitlines())), image_at_fault=True, setting='console_timeout')
        return detail

    def check_ssh(self, server):
        ssh = self.opts['ssh']
        host = ssh.get('host')
        if not host:
            server = self.conn.compute.get_server(server.id)
            host = pick_address(server.addresses, ssh.get('address') or 'fixed')
            if host is None:
                raise BootTestFailure('server %s has no %s address to check SSH on (addresses: %s)' % (
                    server.id, ssh.get('address') or 'fixed', server.addresses or 'none'), image_at_fault=True)
        return ssh_banner(host, ssh.get('port') or 22, ssh.get('timeout') or 300, self.clock, self.sleep)

    def console_tail(self, server):
        return tail(self.console(server, self.opts['console_lines']), self.opts['console_lines'])

    # -- cleanup -----------------------------------------------------------------------------
    def delete_server(self, server_id):
        """Delete and wait until Nova has forgotten it; False (and a warning) if it lingers.

        A cloud with ``reclaim_instance_interval`` only soft-deletes: such a server would hold the
        image in use until reclaimed, so it is force-deleted then.
        """
        from openstack import exceptions  # pylint: disable=import-outside-toplevel

        def find():
            return self.conn.compute.find_server(server_id, ignore_missing=True)

        try:
            self.conn.compute.delete_server(server_id, ignore_missing=True)
            outcome, server = poll(find, lambda s: s is None or s.status == 'SOFT_DELETED', lambda s: False,
                                   self.opts['timeout'], ACTIVE_POLL, self.clock, self.sleep)
            if outcome == 'done' and server is not None:
                self.conn.compute.delete_server(server_id, ignore_missing=True, force=True)
                outcome, server = poll(find, lambda s: s is None, lambda s: False,
                                       self.opts['timeout'], ACTIVE_POLL, self.clock, self.sleep)
        except exceptions.SDKException as exc:
            self.warnings.append('could not delete test server %s: %s' % (server_id, exc))
            return False
        if outcome != 'done':
            self.warnings.append('test server %s is still there (status %s) after %ds; a later run '
                                 'deletes it as an orphan' % (server_id, server.status, self.opts['timeout']))
            return False
        return True

    def delete_image(self, image):
        if image.owner != self.conn.current_project_id:
            self.warnings.append('image %s failed its boot test but belongs to project %s, so it was '
                                 'not deleted' % (image.id, image.owner))
            return False
        if image.visibility not in DELETABLE_VISIBILITIES or image.is_protected:
            self.warnings.append('image %s failed its boot test but is %s%s, so it was not deleted'
                                 % (image.id, image.visibility, ' and protected' if image.is_protected else ''))
            return False
        glance = Glance(self.conn)
        for attempt in range(DELETE_ATTEMPTS):
            try:
                glance.delete(image.id)
                return True
            except GlanceError as exc:
                # A 5xx may still have deleted it (then a retry answers 400 or 404): ask Glance.
                if self.image_gone(image.id):
                    return True
                # A 5xx is worth another try (DELETE is idempotent); anything else, or the last one, is reported.
                if (exc.status or 0) < 500 or attempt == DELETE_ATTEMPTS - 1:
                    self.warnings.append('image %s failed its boot test but could not be deleted: %s' % (image.id, exc))
                    return False
                self.sleep(2.0 * (attempt + 1))
        return False

    def image_gone(self, image_id):
        try:
            image = Glance(self.conn).get(image_id)
        except GlanceError:
            return False
        return image is None or image['status'] in ('deleted', 'pending_delete')
