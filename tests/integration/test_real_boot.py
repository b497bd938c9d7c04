"""image_boot_test and the daily sync judging real boots: Nova's libvirt driver (QEMU/TCG) and the
mirror's bootable images. The passing boot with its marker and build is in test_image_boot_test.py;
the suite's one aarch64 boot (emulated, UEFI) is here.

On the opt-in fake driver (CLOUDIMAGES_COMPUTE=fake) these tests are skipped (booting_cloud): its
console never shows a kernel.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import time
import uuid

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.module_utils.boot._boot_test import arch_properties
from playbook_runner import playbook_command, run_playbook
from small_qcow2 import delete_image, upload_private

pytestmark = pytest.mark.needs_nova


def boot_test(cloud, image, build, tmp_path, expect_failure=False):
    prefix = 'test-realboot-%s-' % uuid.uuid4().hex[:8]
    out = tmp_path / ('result-%s.json' % prefix)
    result = run_playbook('image_boot_test_real.yml', env=cloud.env(), extra_vars={
        'image_id': image.id, 'build': build, 'prefix': prefix, 'result_file': str(out),
        'expect_failure': expect_failure})
    assert result.rc == 0, result.output
    leftovers = [s.id for s in cloud.connect('demo').compute.servers() if s.name.startswith(prefix)]
    assert leftovers == []  # the server is deleted whatever the outcome
    return json.loads(out.read_text())


def qemu_log(cloud, server_id):
    """libvirt's log of the server's QEMU (kept after the domain is gone): its command line."""
    logs = pathlib.Path(cloud.stack.layout.data, 'libvirt', 'log', 'qemu').glob('*.log')
    (text,) = [t for t in (p.read_text(errors='replace') for p in logs) if '-uuid %s' % server_id in t]
    return text


def test_aarch64_image_boots_emulated_under_uefi(booting_cloud, tmp_path):
    """The aarch64 disk (Debian's arm64 kernel, GRUB arm64-efi) with the properties the sync gives an
    aarch64 image boots on this x86_64 host: Nova runs qemu-system-aarch64 (TCG) on the virt machine
    with UEFI firmware, and the console shows the build. The suite's only aarch64 boot (slow under TCG)."""
    from upstream_mirror.bootable_aarch64 import BootBaseAarch64  # pylint: disable=import-outside-toplevel
    disk = tmp_path / 'aarch64.qcow2'
    disk.write_bytes(BootBaseAarch64().ensure().qcow2('ubuntu/24.04/20261207'))
    defaults = yaml.safe_load(pathlib.Path(__file__).parents[2].joinpath(
        'roles', 'image_sync', 'defaults', 'main.yml').read_text())['image_sync_properties']
    demo = booting_cloud.connect('demo')
    image = upload_private(demo, disk, 'test-realboot-aarch64', **dict(defaults, **arch_properties('aarch64')))
    try:
        boot = boot_test(booting_cloud, image, '20261207', tmp_path)
    finally:
        delete_image(demo, image.id)
    print('aarch64 boot test: %.1f s' % boot['duration'])
    assert boot['passed'] and boot['architecture'] == 'aarch64', boot
    assert any('cloudimages-boot: ubuntu 24.04 20261207' in line for line in boot['console_tail']), boot
    qemu = qemu_log(booting_cloud, boot['server']['id'])
    assert 'qemu-system-aarch64' in qemu and 'cortex-a57' in qemu and '-machine virt' in qemu, qemu[:2000]
    assert 'AAVMF_CODE' in qemu  # UEFI firmware from the descriptors in /usr/share/qemu/firmware


def test_another_build_does_not_pass(booting_cloud, upstream, tmp_path):
    """The image boots to its login prompt, but it is not the build the sync uploaded."""
    info = upstream.mirror.releases['ubuntu', '24.04']
    demo = booting_cloud.connect('demo')
    image = upload_private(demo, info.local_path, 'test-realboot')
    try:
        other = boot_test(booting_cloud, image, '19700101', tmp_path, expect_failure=True)
        assert other['passed'] is False and 'not the uploaded build' in other['reason'], other
        assert any('cloudimages-boot: ubuntu 24.04 %s' % info.version in line for line in other['console_tail'])
    finally:
        delete_image(demo, image.id)


def test_unbootable_build_is_refused_with_the_console_tail(booting_cloud, upstream, tmp_path):
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    try:
        info = mirror.inject('ubuntu', '24.04', 'unbootable')
        demo = booting_cloud.connect('demo')
        image = upload_private(demo, info.local_path, 'test-realboot')
        try:
            boot = boot_test(booting_cloud, image, info.version, tmp_path, expect_failure=True)
        finally:
            delete_image(demo, image.id)
        assert boot['passed'] is False and 'Kernel panic' in boot['reason'], boot
        assert any('Kernel panic' in line for line in boot['console_tail']), boot['console_tail']
        assert boot['image_deleted'] and demo.image.find_image(image.id, ignore_missing=True) is None
    finally:
        mirror.close()


def test_two_days_unbootable_refused_killed_run_converges(booting_cloud, daily_sync):
    """Daily sync of Ubuntu 24.04 with real boots. Day 1's build panics: refused, Latest unchanged.
    Day 2's build, waited for with a console marker it never prints and a short console wait, is
    refused after that wait. Day 2's next run is SIGKILLed (its whole process group) while the candidate's test server boots; the
    next run deletes the orphan server, tests the candidate again and promotes it."""
    # image_sync's default marker (login:) and the inventory's build check, nothing set here.
    ubuntu = {'cloudimages_distributions': ['ubuntu'], 'ubuntu_enabled': ['24.04']}
    sync = daily_sync('realboot', mirror='copy', boot_test=True, limit='region_one', region_one=ubuntu)
    mirror, conn = sync.mirror, booting_cloud.connect('admin')

    def latest():
        return {(i.id, i.name, i.visibility) for i in sync.images() if i.name.endswith('- Latest')}

    def test_servers(image_id):
        return [s for s in conn.compute.servers() if image_id in s.name and s.name.startswith('cloudimages-boot-test-')]

    try:
        first = sync()
        assert first.rc == 0, first.output
        day0 = latest()
        assert len(day0) == 1 and next(iter(day0))[2] == 'public', day0

        mirror.advance(only=[('ubuntu', '24.04')])
        bad = mirror.inject('ubuntu', '24.04', 'unbootable')
        refused = sync()
        # The release fails, the run says which and why; the candidate is gone and Latest unchanged.
        assert 'Ubuntu 24.04 Noble Numbat' in refused.output and 'Kernel panic' in refused.output, refused.output
        assert latest() == day0
        assert all(i.visibility != 'private' for i in sync.images())

        mirror.advance(only=[('ubuntu', '24.04')])
        good = mirror.releases['ubuntu', '24.04']
        assert good.version != bad.version and not good.faults
        # The console wait is the operator's (issue 22): a marker the image never prints is refused
        # after image_sync_boot_console_timeout (5 s, not the default 300 s), the message names that
        # knob, and the candidate is deleted; Latest is unchanged.
        waited = sync(region_one=dict(ubuntu, image_sync_boot_marker='never printed', image_sync_boot_console_timeout=5))
        assert "showed no line matching 'never printed' within 5s" in waited.output, waited.output
        assert 'the wait is image_sync_boot_console_timeout' in waited.output, waited.output
        assert latest() == day0
        assert all(i.visibility != 'private' for i in sync.images())
        argv, env = playbook_command('cloudimages.openstack.daily_sync', env=booting_cloud.env(),
                                     inventory=str(sync.inventory()), args=['--limit', 'region_one'])
        with open(sync.workdir / 'killed.log', 'wb') as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                    start_new_session=True)
        try:
            deadline, booting = time.monotonic() + 600, []
            while not booting and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
                candidates = [i for i in sync.images() if i.visibility == 'private']
                booting = [s for i in candidates for s in test_servers(i.id)]
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # ansible-playbook, its workers and the module
            proc.wait(60)
        assert booting, (sync.workdir / 'killed.log').read_text()
        (orphan,) = booting
        (candidate,) = [i for i in sync.images() if i.visibility == 'private']
        # Killed mid-test: the server and the private candidate are left, Latest is untouched.
        assert conn.compute.find_server(orphan.id, ignore_missing=True) is not None
        assert latest() == day0

        # The next run (a day later, in production: older than any run can take; here orphan_age 1 s).
        resumed = sync(region_one=dict(ubuntu, image_sync_boot_orphan_age=1))
        assert resumed.rc == 0, resumed.output
        assert conn.compute.find_server(orphan.id, ignore_missing=True) is None
        assert test_servers(candidate.id) == []
        assert 'Boot test the candidate | Ubuntu 24.04 Noble Numbat' in resumed.output
        ((latest_id, _name, visibility),) = latest()
        assert (latest_id, visibility) == (candidate.id, 'public')
        assert conn.image.get_image(latest_id).properties['cloudimages_build'] == good.version
    finally:
        for leftover in test_servers(''):
            if any(i.id in leftover.name for i in sync.images()):
                conn.compute.delete_server(leftover.id, ignore_missing=True)
