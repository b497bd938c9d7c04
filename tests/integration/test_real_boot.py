"""image_boot_test against real boots: Nova's libvirt driver (QEMU/TCG) and the mirror's bootable images.

Needs a stack started with CLOUDIMAGES_COMPUTE=libvirt (the hypervisor type is QEMU); on a fake-driver
stack these tests are skipped, since the fake driver's console never shows a kernel.
"""

from __future__ import annotations

import json
import uuid

import pytest

from playbook_runner import run_playbook
from small_qcow2 import delete_image, upload_private

pytestmark = pytest.mark.needs_nova


@pytest.fixture(scope='module')
def real_compute(cloud, upstream):
    types = {h.hypervisor_type for h in cloud.connect('admin').compute.hypervisors(details=True)}
    if 'QEMU' not in types:
        pytest.skip('Nova runs %s, not libvirt/QEMU (start the stack with CLOUDIMAGES_COMPUTE=libvirt)' % types)
    assert upstream.mirror.state.get('bootable'), 'Nova boots for real: run with CLOUDIMAGES_COMPUTE=libvirt'
    return cloud


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


def test_good_build_passes_on_its_marker(real_compute, upstream, tmp_path):
    info = upstream.mirror.releases['ubuntu', '24.04']
    demo = real_compute.connect('demo')
    image = upload_private(demo, info.local_path, 'test-realboot')
    try:
        boot = boot_test(real_compute, image, info.version, tmp_path)
        assert boot['passed'] and boot['console_match'].strip().endswith('login:'), boot
        assert any('cloudimages-boot: ubuntu 24.04 %s' % info.version in line for line in boot['console_tail'])
        assert not boot['image_deleted'] and demo.image.find_image(image.id, ignore_missing=True) is not None
        # The same image does not pass for another build: the build that booted must be the one uploaded.
        other = boot_test(real_compute, image, '19700101', tmp_path, expect_failure=True)
        assert other['passed'] is False and 'not the uploaded build' in other['reason'], other
    finally:
        delete_image(demo, image.id)


def test_unbootable_build_is_refused_with_the_console_tail(real_compute, upstream, tmp_path):
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    try:
        info = mirror.inject('ubuntu', '24.04', 'unbootable')
        demo = real_compute.connect('demo')
        image = upload_private(demo, info.local_path, 'test-realboot')
        try:
            boot = boot_test(real_compute, image, info.version, tmp_path, expect_failure=True)
        finally:
            delete_image(demo, image.id)
        assert boot['passed'] is False and 'Kernel panic' in boot['reason'], boot
        assert any('Kernel panic' in line for line in boot['console_tail']), boot['console_tail']
        assert boot['image_deleted'] and demo.image.find_image(image.id, ignore_missing=True) is None
    finally:
        mirror.close()


def test_two_days_unbootable_build_refused_then_next_build_promoted(real_compute, upstream, tmp_path):
    """Daily sync of Ubuntu 24.04 with real boots: day 1's build panics, day 2's boots."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    from sync_inventory import write_inventory  # pylint: disable=import-outside-toplevel
    from sync_support import delete_managed, managed_images  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    provider = 'realboot' + uuid.uuid4().hex[:8]
    conn = real_compute.connect('admin')
    with MirrorServer(mirror) as server:
        def sync():
            inventory = write_inventory(
                tmp_path / 'inventory.json', mirror, server, provider, tmp_path / 'cache', mirror.today,
                region_one={'cloudimages_distributions': ['ubuntu'], 'ubuntu_enabled': ['24.04'],
                            'image_sync_boot_marker': 'login:', 'image_sync_boot_check_build': True})
            return run_playbook('cloudimages.openstack.daily_sync', env=real_compute.env(), inventory=str(inventory),
                                args=['--limit', 'region_one'], timeout=1800)

        def latest():
            return {(i.name, i.visibility, i.properties.get('cloudimages_build') or i.properties.get('build_id'))
                    for i in managed_images(conn, provider) if i.name.endswith('- Latest')}
        try:
            first = sync()
            assert first.rc == 0, first.output
            day0 = latest()
            assert len(day0) == 1 and next(iter(day0))[1] == 'public', day0

            mirror.advance(only=[('ubuntu', '24.04')])
            bad = mirror.inject('ubuntu', '24.04', 'unbootable')
            refused = sync()
            # The release fails, the run says which and why; the candidate is gone and Latest unchanged.
            assert 'Ubuntu 24.04 Noble Numbat' in refused.output and 'Kernel panic' in refused.output, refused.output
            assert latest() == day0
            assert all(i.visibility != 'private' for i in managed_images(conn, provider))

            mirror.advance(only=[('ubuntu', '24.04')])
            good = mirror.releases['ubuntu', '24.04']
            assert good.version != bad.version and not good.faults
            promoted = sync()
            assert promoted.rc == 0, promoted.output
            assert latest() != day0 and len(latest()) == 1
        finally:
            delete_managed(real_compute, provider)
            mirror.close()
