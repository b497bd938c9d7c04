"""Migrating from openstack-image-manager (OIM) keeps every UUID.

The real OIM (PyPI, its own venv) publishes a small catalog from its own definition files, pointed
at the local mirror: Ubuntu 24.04 (two versions), Debian 12, CirrOS and openSUSE Leap 15.6 (not a
distribution of this collection: a generic release; its bytes are a provider artifact of the
mirror). On the full stack a server boots from the older Ubuntu image (the light stack has no Nova:
there the daily sync finds usage unknown and deletes nothing). Then playbooks/migrate_oim.yml
(check mode, then for real, then again), then the daily sync for two days, with OIM's names kept.
"""

from __future__ import annotations

import datetime
import json
import uuid

import yaml

from oim_support import ensure_venv, pick, pointed_at, run_oim, shipped_definitions, write
from playbook_runner import run_playbook
from rotation_helpers import delete_server
from sync_support import managed_images, served, summary
from sync_inventory import write_inventory

OIM_TAG = 'managed_by_osism'


def oim_images(conn):
    seen = {}
    for visibility in ('public', 'community', 'private', 'shared'):
        for image in conn.image.images(tag=[OIM_TAG], visibility=visibility):
            seen[image.id] = image
    return seen


def debug_msg(output, task, host='region_one'):
    start = output.index('TASK [%s]' % task)
    marker = 'ok: [%s] => ' % host
    return json.JSONDecoder().raw_decode(output, output.index(marker, start) + len(marker))[0]['msg']


def test_migrate_from_oim_keeps_every_uuid(cloud, upstream, tmp_path):
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    provider = 'oim' + uuid.uuid4().hex[:8]
    conn = cloud.connect('admin', 'RegionOne')
    venv = ensure_venv()
    before = set(oim_images(conn))
    try:
        migrate(cloud, conn, mirror, provider, venv, tmp_path)
    finally:  # everything OIM published or the test planted (the provider's images: served())
        for image_id in set(oim_images(conn)) - before:
            conn.image.delete_image(image_id, ignore_missing=True)


def migrate(cloud, conn, mirror, provider, venv, tmp_path):
    with served(cloud, mirror, provider) as server:
        shipped = shipped_definitions(venv)
        ubuntu = mirror.history('ubuntu', '24.04')[-2:]
        catalog = [
            pointed_at(pick(shipped, 'ubuntu.yml', 'Ubuntu 24.04'), ubuntu, server, 'sha256'),
            pointed_at(pick(shipped, 'debian.yml', 'Debian 12'), mirror.history('debian', '12')[-1:], server, 'sha512'),
            pointed_at(pick(shipped, 'cirros.yml', 'Cirros'), mirror.history('cirros', '0.6')[-1:], server, 'sha256'),
            pointed_at(pick(shipped, 'opensuse.yml', 'openSUSE Leap 15.6'), mirror.history('windows', '2025')[-1:],
                       server, 'sha256'),
        ]
        definitions = write(tmp_path / 'oim-images', catalog)
        published = run_oim(venv, cloud.env(), definitions)
        assert published.returncode == 0, published.stderr
        oim = oim_images(conn)
        cirros_version = catalog[2]['versions'][0]['version']
        names = {image.name: image.id for image in oim.values()}
        assert set(names) == {'Ubuntu 24.04', 'Ubuntu 24.04 (%s)' % ubuntu[0].version, 'Debian 12',
                              'Cirros %s' % cirros_version, 'openSUSE Leap 15.6'}, published.stderr
        old_ubuntu = names['Ubuntu 24.04 (%s)' % ubuntu[0].version]

        # A planted image: OIM's tag and properties, other bytes.
        other_bytes = tmp_path / 'planted.raw'
        other_bytes.write_bytes(b'not the vendor bytes' * 100)
        planted = conn.image.create_image(
            name='Ubuntu 24.04 (%s)' % ubuntu[0].version, filename=str(other_bytes), disk_format='raw',
            container_format='bare', tags=[OIM_TAG], visibility='public', allow_duplicates=True, wait=True,
            image_description='Ubuntu 24.04', internal_version=ubuntu[0].version)
        # A customer's server on the older OIM image.
        booted = None
        if cloud.full:
            flavor = conn.compute.find_flavor('m1.small')  # OIM's min_disk for Ubuntu is 8 GB
            booted = conn.compute.create_server(name='oim-user', image_id=old_ubuntu, flavor_id=flavor.id,
                                                networks='none')
            conn.compute.wait_for_server(booted, wait=600)

        day1 = mirror.today
        inventory_dir = tmp_path / 'host_vars'
        inventory_dir.mkdir()

        def inventory(today, extra=None):
            one = dict({'image_sync_boot_test': False, 'image_sync_min_age_days': 0, 'image_sync_keep': 1},
                       **(extra or {}))
            return str(write_inventory(tmp_path / 'inventory.json', mirror, server, provider, tmp_path / 'cache',
                                       today, region_one=one))

        migrate_vars = {'oim_definitions': str(definitions), 'oim_keep_names': True,
                        'oim_output_dir': str(inventory_dir)}
        limit = ('--limit', 'region_one')

        # Check mode: the whole mapping and plan, nothing changes.
        check = run_playbook('cloudimages.openstack.migrate_oim', env=cloud.env(), inventory=inventory(day1),
                             extra_vars=migrate_vars, check=True, args=limit)
        assert check.rc == 0, check.output
        task = "The mapping (every OIM image, what it becomes or why not, what stays OIM's)"
        mapping = {entry['oim_name']: entry for entry in debug_msg(check.output, task)}
        assert {name: entry.get('key') for name, entry in mapping.items()} == {
            'Ubuntu 24.04': 'ubuntu-24.04', 'Debian 12': 'debian-12', 'Cirros': 'cirros-0.6',
            'openSUSE Leap 15.6': 'generic-opensuse-leap-15.6'}
        assert any('password' in note for note in mapping['Cirros']['not_carried'])
        plan = debug_msg(check.output, 'The adoption (adopted now, already ours, untouched and why)')
        assert sorted(a['id'] for a in plan['adopt']) == sorted(oim), plan
        (refused,) = plan['untouched']
        assert refused['id'] == planted.id and 'not proven' in refused['reason']
        assert not managed_images(conn, provider)

        result = run_playbook('cloudimages.openstack.migrate_oim', env=cloud.env(), inventory=inventory(day1),
                              extra_vars=migrate_vars, args=limit)
        assert result.rc == 0, result.output
        adopted = {image.id: image for image in managed_images(conn, provider)}
        assert set(adopted) == set(oim)
        assert planted.id not in adopted
        again = run_playbook('cloudimages.openstack.migrate_oim', env=cloud.env(), inventory=inventory(day1),
                             extra_vars=migrate_vars, args=limit)
        assert again.rc == 0 and debug_msg(again.output, 'The adoption (adopted now, already ours, untouched and why)')[
            'adopt'] == [], again.output

        # The daily sync over the committed inventory: day 1 needs no upload.
        carried = yaml.safe_load((inventory_dir / 'region_one.yml').read_text())
        day = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=inventory(day1, carried),
                           args=limit, timeout=1800)
        assert day.rc == 0, day.output
        images = {image.id: image for image in managed_images(conn, provider)}
        assert set(images) == set(oim), summary(day, 'region_one')
        assert images[names['Ubuntu 24.04']].name == 'Ubuntu 24.04'
        assert images[old_ubuntu].name == 'Ubuntu 24.04 (%s)' % ubuntu[0].version

        # Day 2: every vendor has a new build; Latest moves, no OIM UUID in use disappears.
        mirror.advance()
        day2 = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(),
                            inventory=inventory(day1 + datetime.timedelta(days=1), carried), args=limit, timeout=1800)
        assert day2.rc == 0, day2.output
        images = {image.id: image for image in managed_images(conn, provider)}
        new = set(images) - set(oim)
        by_key = {}
        for image in images.values():
            by_key.setdefault(image.properties['cloudimages_release'], []).append(image)
        for key in ('ubuntu-24.04', 'debian-12', 'cirros-0.6'):
            builds = [image.properties['cloudimages_build'] for image in by_key[key]]
            assert len(builds) == len(set(builds)), (key, builds)  # no build uploaded twice
        latest = {image.name: image.id for image in images.values()}
        assert latest['Ubuntu 24.04'] in new and latest['Debian 12'] in new
        assert images[names['Ubuntu 24.04']].name == 'Ubuntu 24.04 (%s)' % ubuntu[1].version
        assert old_ubuntu in images  # in use (or usage unknown on the light stack): kept
        if booted is not None:
            assert conn.compute.get_server(booted.id).image['id'] == old_ubuntu
        assert conn.image.get_image(planted.id).tags == [OIM_TAG]
        assert len(by_key['generic-opensuse-leap-15.6']) == 1  # a pinned artifact: nothing new
        if booted is not None:
            delete_server(conn, booted.id)  # the local cloud soft-deletes: forced
