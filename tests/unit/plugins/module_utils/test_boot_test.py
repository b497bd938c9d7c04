from __future__ import annotations

import datetime
import socket
from types import SimpleNamespace

import pytest
from openstack import exceptions

from ansible_collections.cloudimages.openstack.plugins.module_utils.boot._boot_test import (
    BootTest, BootTestFailure, arch_mismatch, arch_properties, find_marker, flavor_too_small, judge_console, orphans,
    pick_address, poll, server_name, ssh_banner, tail)
from fake_clock import Clock

IMAGE = '5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e'
NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.timezone.utc)


def test_server_name_carries_prefix_and_image():
    name = server_name('bt-', IMAGE)
    assert name.startswith('bt-' + IMAGE + '-') and len(name) == len('bt-' + IMAGE) + 7
    assert server_name('bt-', IMAGE) != name


def test_orphans_are_ours_and_old():
    mine, other = 'p-mine', 'p-other'

    def server(server_id, name, created='2026-11-23T11:00:00Z', project=mine, image=IMAGE):
        return {'id': server_id, 'name': name, 'created_at': created, 'project_id': project,
                'metadata': {'cloudimages_boot_test': image} if image else {}}
    servers = [
        server('old', 'bt-%s-aaaaaa' % IMAGE),
        server('young', 'bt-%s-bbbbbb' % IMAGE, created='2026-11-23T11:59:00Z'),
        server('foreign', 'web-1', created='2026-11-01T00:00:00Z', image=None),
        server('no-metadata', 'bt-%s-cccccc' % IMAGE, image=None),          # someone's server named like ours
        server('other-project', 'bt-%s-dddddd' % IMAGE, project=other),     # the same test run by another project
        server('other-image', 'bt-web-eeeeee', image=IMAGE),               # metadata copied, name is not ours
        server('no-project', 'bt-%s-ffffff' % IMAGE, project=None),
    ]
    assert [s['id'] for s in orphans(servers, 'bt-', NOW, 600, mine)] == ['old']
    assert [s['id'] for s in orphans(servers, 'bt-', NOW, 600, other)] == ['other-project']
    assert orphans(servers, 'bt-', NOW, 600, None) == []


def test_tail_and_marker():
    text = 'boot\nCloud-init v. 24.1 finished at Mon\nlogin: '
    assert tail(text, 2) == ['Cloud-init v. 24.1 finished at Mon', 'login: ']
    assert tail(text, 0) == [] and tail(None, 5) == []
    assert find_marker(text, r'Cloud-init v\. \S+ finished') == 'Cloud-init v. 24.1 finished at Mon'
    assert find_marker(text, 'never') is None


BOOTED = 'SYSLINUX 6.04\ncloudimages-boot: ubuntu 24.04 20261116\n\ncloudimage login: '
PANIC = 'cloudimages-boot: ubuntu 24.04 20261117\n[ 5.4] ---[ end Kernel panic - not syncing: Attempted to kill init! ]---'


def test_judge_console():
    assert judge_console(BOOTED, 'login:', 'Kernel panic') == ('pass', 'cloudimage login: ')
    assert judge_console(BOOTED, 'login:', 'Kernel panic', build='20261116')[0] == 'pass'
    state, why = judge_console(BOOTED, 'login:', 'Kernel panic', build='20261117')
    assert state == 'fail' and "not the uploaded build '20261117'" in why
    state, why = judge_console(PANIC, 'login:', 'Kernel panic')
    assert state == 'fail' and 'Kernel panic - not syncing' in why
    # A panic after the prompt is still a failure; without a failure pattern only the marker counts.
    assert judge_console(BOOTED + '\nKernel panic', 'login:', 'Kernel panic')[0] == 'fail'
    assert judge_console(BOOTED + '\nKernel panic', 'login:', '')[0] == 'pass'
    assert judge_console('SeaBIOS\nBooting from Hard Disk...', 'login:', 'Kernel panic') == ('wait', None)
    assert judge_console(None, 'login:') == ('wait', None)


class ConsoleCompute:
    """Stands in for Nova's console API only (pure logic under test); one console text per call."""

    def __init__(self, texts):
        self.texts, self.calls = list(texts), 0

    def get_server_console_output(self, server_id, length=None):  # pylint: disable=unused-argument
        self.calls += 1
        text = self.texts[min(self.calls, len(self.texts)) - 1]
        if isinstance(text, Exception):
            raise text
        return {'output': text}


def boot_test(texts, **opts):
    clock = Clock()
    conn = type('Conn', (), {'compute': ConsoleCompute(texts)})()
    options = dict(console_marker='login:', console_failure='Kernel panic', console_build=None, console_timeout=300)
    options.update(opts)
    return BootTest(conn, options, clock=clock, sleep=clock.sleep), clock, conn.compute


def test_wait_marker_fails_fast_on_a_panic():
    test, clock, compute = boot_test(['', 'cloudimages-boot: x', PANIC, BOOTED])
    server = type('Server', (), {'id': 'srv'})()
    with pytest.raises(BootTestFailure) as exc:
        test.wait_marker(server)
    assert 'did not boot' in exc.value.reason and 'Kernel panic' in exc.value.reason and exc.value.image_at_fault
    assert compute.calls == 3 and clock.now < 300


def test_wait_marker_checks_the_build_and_times_out():
    server = type('Server', (), {'id': 'srv'})()
    test, _clock, _compute = boot_test(['', BOOTED], console_build='20261116')
    assert test.wait_marker(server) == 'cloudimage login: '
    test, _clock, _compute = boot_test([BOOTED], console_build='20261201')
    with pytest.raises(BootTestFailure, match='not the uploaded build'):
        test.wait_marker(server)
    test, clock, _compute = boot_test(['SeaBIOS'], console_timeout=30)
    with pytest.raises(BootTestFailure, match='no line matching') as exc:
        test.wait_marker(server)
    # The wait that ran out is named, for the role to name its knob (image_sync_boot_console_timeout).
    assert clock.now == 30 and exc.value.setting == 'console_timeout'


def test_wait_marker_stops_when_the_server_is_deleted_meanwhile():
    server = type('Server', (), {'id': 'srv'})()
    # Not yet available (409) is waited for; gone (404) ends the test at once, the image is not blamed.
    test, clock, compute = boot_test([exceptions.ConflictException('not ready'), '',
                                      exceptions.NotFoundException('Instance srv could not be found')],
                                     console_lines=5)
    with pytest.raises(BootTestFailure, match='srv was deleted during its boot test') as exc:
        test.wait_marker(server)
    assert not exc.value.image_at_fault and compute.calls == 3 and clock.now < 300
    # The console tail after a failure tolerates a deleted server.
    assert test.console_tail(server) == []


def test_poll_outcomes():
    clock = Clock()
    states = iter(['BUILD', 'BUILD', 'ACTIVE'])
    assert poll(lambda: next(states), lambda s: s == 'ACTIVE', lambda s: s == 'ERROR', 10, 1, clock, clock.sleep) == ('done', 'ACTIVE')
    assert poll(lambda: 'ERROR', lambda s: s == 'ACTIVE', lambda s: s == 'ERROR', 10, 1, clock, clock.sleep) == ('failed', 'ERROR')
    # A server stuck in BUILD (the local cloud cannot produce one on demand): polled until the deadline, then timeout.
    clock, calls = Clock(), []
    outcome = poll(lambda: calls.append(clock()) or 'BUILD', lambda s: s == 'ACTIVE', lambda s: False, 5, 2, clock, clock.sleep)
    assert outcome == ('timeout', 'BUILD')
    assert calls == [0.0, 2.0, 4.0, 5.0]  # the last look is at the deadline
    # quick: every second at first (a small image is up in seconds), then the interval.
    clock, calls = Clock(), []
    poll(lambda: calls.append(clock()) or '', lambda s: False, lambda s: False, 14, 5, clock, clock.sleep, quick=3)
    assert calls == [0.0, 1.0, 2.0, 3.0, 8.0, 13.0, 14.0]


def test_pick_address_prefers_ipv4_of_the_kind():
    addresses = {'net': [{'addr': 'fd00::5', 'version': 6, 'OS-EXT-IPS:type': 'fixed'},
                         {'addr': '10.0.0.5', 'version': 4, 'OS-EXT-IPS:type': 'fixed'},
                         {'addr': '203.0.113.5', 'version': 4, 'OS-EXT-IPS:type': 'floating'}]}
    assert pick_address(addresses, 'fixed') == '10.0.0.5'
    assert pick_address(addresses, 'floating') == '203.0.113.5'
    assert pick_address({}, 'fixed') is None


def test_ssh_banner_is_read(ssh_listener):
    port, _state = ssh_listener
    assert ssh_banner('127.0.0.1', port, 5) == 'SSH-2.0-OpenSSH_9.6'


def test_not_ssh_fails_after_timeout(ssh_listener):
    port, state = ssh_listener
    state['banner'] = b'HTTP/1.1 400 Bad Request\r\n'
    clock = Clock()
    with pytest.raises(BootTestFailure, match="no SSH identification, got 'HTTP/1.1 400 Bad Request'") as info:
        ssh_banner('127.0.0.1', port, 6, clock, clock.sleep)
    assert info.value.image_at_fault


def test_closed_port_fails_with_the_socket_error():
    with socket.create_server(('127.0.0.1', 0)) as sock:
        port = sock.getsockname()[1]
    clock = Clock()
    with pytest.raises(BootTestFailure, match='no SSH banner from 127.0.0.1:%d within 3s: .*refused' % port):
        ssh_banner('127.0.0.1', port, 3, clock, clock.sleep)


def test_flavor_too_small_names_what_nova_would_refuse():
    boot = SimpleNamespace(name='m1.boot', ram=256, disk=1)
    assert flavor_too_small(boot, 512, 0) == (
        'min_ram', "flavor 'm1.boot' has 256 MB of RAM, less than min_ram 512 MB (Nova refuses such a boot)")
    assert flavor_too_small(boot, 256, 20)[0] == 'min_disk'
    assert flavor_too_small(boot, 256, 1) is None
    # disk 0: the root disk takes the image's size, Nova checks no min_disk
    assert flavor_too_small(SimpleNamespace(name='m1.any', ram=2048, disk=0), 2048, 32) is None


def test_an_aarch64_image_needs_uefi_on_the_virt_machine():
    good = dict(architecture='aarch64', hw_firmware_type='uefi', hw_machine_type='virt')
    assert arch_properties('aarch64') == good and arch_properties('x86_64') == {'architecture': 'x86_64'}
    assert arch_mismatch(good) == ('aarch64', None)
    arch, why = arch_mismatch(dict(good, hw_firmware_type='bios'))
    assert arch == 'aarch64' and why == 'Nova boots it as aarch64 only with the image properties hw_firmware_type=uefi'
    # Tested as aarch64, an image that says nothing (Nova would boot it as the host's, a PC) is refused.
    assert 'architecture=aarch64, hw_firmware_type=uefi, hw_machine_type=virt' in arch_mismatch({}, 'aarch64')[1]
    # An x86_64 image without the property boots as the host's; one that says another arch does not.
    assert arch_mismatch({}) == ('x86_64', None)
    assert arch_mismatch(good, 'x86_64')[1] == \
        'Nova boots it as x86_64 only with the image properties architecture=x86_64'
