"""Migrating from openstack-image-manager (OIM) keeps every UUID.

The real OIM (PyPI, its own venv) publishes a small catalog from its own definition files, pointed
at the local mirror: Ubuntu 24.04 (two versions), Debian 12, CirrOS and openSUSE Leap 15.6 (not a
distribution of this collection: a generic release following OIM's latest_url and
latest_checksum_url; on the mirror they name Debian 13's latest/ file, whose bytes change with every
build). On the full stack a server boots from the older Ubuntu image (the light stack has no Nova:
there the daily sync finds usage unknown and deletes nothing). Then playbooks/migrate_oim.yml
(check mode; a run SIGKILLed between two adoptions; the run that finishes them; again), then the
daily sync for two days, with OIM's names kept. The inventory carries operator overrides the
migration must keep.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import time
import uuid

import yaml

from oim_support import ensure_venv, kill_tree, pick, pointed_at, run_oim, shipped_definitions, write
from playbook_runner import playbook_command, run_playbook
from rotation_helpers import delete_server
from sync_support import managed_images, served, summary
from sync_inventory import write_inventory
from upload_proxy import GlanceProxy
from upload_support import cloud_dict

OIM_TAG = 'managed_by_osism'
ADOPTION = 'The adoption (adopted now, already ours, untouched and why)'


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
        # The generic image follows a fixed "latest" name and its checksum file, as OIM's latest_url does:
        # versioned YYYYMMDD by the checksum file's Last-Modified (the build's publish time on the mirror).
        trixie = mirror.releases['debian', '13']
        opensuse = pointed_at(pick(shipped, 'opensuse.yml', 'openSUSE Leap 15.6'), [trixie], server, 'sha512')
        opensuse['versions'][0]['version'] = trixie.published[:10].replace('-', '')
        opensuse.update(latest_url=trixie.pointer_url, latest_checksum_url=trixie.pointer_url.rsplit('/', 1)[0] + '/SHA512SUMS')
        # OIM's version strings are not the vendors' build ids. The newest Ubuntu is OIM's latest pointer
        # (main.py: internal_version becomes the file's Last-Modified day); Debian's version is its
        # directory's date without the build number, as OIM's contrib/update.py writes it.
        oim_ubuntu = pointed_at(pick(shipped, 'ubuntu.yml', 'Ubuntu 24.04'), ubuntu[:1], server, 'sha256')
        oim_ubuntu['versions'].append({'version': 'latest', 'url': server.rewrite(ubuntu[1].pointer_url),
                                       'checksums_url': server.rewrite(ubuntu[1].checksum_url)})
        bookworm = mirror.history('debian', '12')[-1]
        oim_debian = pointed_at(pick(shipped, 'debian.yml', 'Debian 12'), [bookworm], server, 'sha512')
        oim_debian['versions'][0]['version'] = bookworm.version.split('-')[0]
        assert oim_debian['versions'][0]['version'] != bookworm.version
        catalog = [
            oim_ubuntu,
            oim_debian,
            pointed_at(pick(shipped, 'cirros.yml', 'Cirros'), mirror.history('cirros', '0.6')[-1:], server, 'sha256'),
            opensuse,
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

        # The operator's overrides of the roles (inventory variables): the migration reads and keeps them.
        operator = {'cloudimages_distributions': [],  # new to this collection (write_inventory's default: all)
                    'ubuntu_enabled': ['26.04'], 'debian_properties': {'hw_watchdog_action': 'none'},
                    'image_sync_release_properties': {'debian-12': {'replace_frequency': 'monthly'}}}

        def inventory(today, extra=None):
            one = dict({'image_sync_boot_test': False, 'image_sync_min_age_days': 0, 'image_sync_keep': 1},
                       **dict(operator, **(extra or {})))
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
        assert mapping['openSUSE Leap 15.6']['trust'] == 'tls-only'
        assert {'hw_watchdog_action', 'replace_frequency'} <= set(mapping['Debian 12']['operator_properties'])
        plan = debug_msg(check.output, ADOPTION)
        assert sorted(a['id'] for a in plan['adopt']) == sorted(oim), plan
        (refused,) = plan['untouched']
        assert refused['id'] == planted.id and 'not proven' in refused['reason']
        assert not managed_images(conn, provider)

        # Killed between two adoptions (Glance holds every PATCH after the first; kill -9 of the whole job):
        # each image changes in one request, so each is adopted whole or left as OIM left it.
        first, rest = plan['adopt'][0]['id'], [a['id'] for a in plan['adopt'][1:]]
        killed_run(cloud, inventory(day1), migrate_vars, limit, rest, tmp_path)
        (adopted,) = managed_images(conn, provider)
        assert adopted.id == first and sorted(adopted.tags) == sorted(oim[first].tags + ['managed_by_' + provider])
        assert {key for key in adopted.properties if key.startswith('cloudimages_')} >= {
            'cloudimages_release', 'cloudimages_build', 'cloudimages_digest', 'cloudimages_trust'}
        for image_id in rest:
            left = conn.image.get_image(image_id)
            assert (left.tags, left.name, left.properties) == (oim[image_id].tags, oim[image_id].name,
                                                               oim[image_id].properties), image_id
            assert not [key for key in left.properties if key.startswith('cloudimages_')], left.properties

        result = run_playbook('cloudimages.openstack.migrate_oim', env=cloud.env(), inventory=inventory(day1),
                              extra_vars=migrate_vars, args=limit)
        assert result.rc == 0, result.output
        resumed = debug_msg(result.output, ADOPTION)
        assert sorted(a['id'] for a in resumed['adopt']) == sorted(rest), resumed
        assert [a['id'] for a in resumed['already_adopted']] == [first], resumed
        adopted = {image.id: image for image in managed_images(conn, provider)}
        assert set(adopted) == set(oim)
        assert planted.id not in adopted
        # The vendor's newest builds, verified in this run, vouch with their trust; the older Ubuntu
        # build only with the definition's digest.
        trust = {oim[image_id].name: image.properties['cloudimages_trust'] for image_id, image in adopted.items()}
        assert re.fullmatch('signed:[0-9A-F]{40}', trust['Ubuntu 24.04']), trust
        assert trust == {'Ubuntu 24.04': trust['Ubuntu 24.04'], 'Ubuntu 24.04 (%s)' % ubuntu[0].version: 'operator-checksum',
                         'Debian 12': 'tls-only', 'Cirros %s' % cirros_version: 'tls-only',
                         'openSUSE Leap 15.6': 'tls-only'}
        # Adopted as the vendors' builds, found by digest: the daily sync discovers these ids.
        build = {oim[image_id].name: image.properties['cloudimages_build'] for image_id, image in adopted.items()}
        assert (build['Ubuntu 24.04'], build['Debian 12']) == (ubuntu[1].version, bookworm.version), build
        again = run_playbook('cloudimages.openstack.migrate_oim', env=cloud.env(), inventory=inventory(day1),
                             extra_vars=migrate_vars, args=limit)
        assert again.rc == 0 and debug_msg(again.output, ADOPTION)['adopt'] == [], again.output

        # The daily sync over the committed inventory: day 1 needs no upload.
        carried = yaml.safe_load((inventory_dir / 'region_one.yml').read_text())
        # The operator's settings are kept: their enabled release, their properties over OIM's.
        assert carried['ubuntu_enabled'] == ['24.04', '26.04']
        assert carried['image_sync_previous_visibility'] == 'public'  # OIM keeps older versions public and listed
        assert carried['image_sync_release_properties']['debian-12']['replace_frequency'] == 'monthly'
        assert 'hw_watchdog_action' not in carried['image_sync_release_properties']['debian-12']
        # The mirror's 26.04 is not needed here. The file is host_vars/ next to the inventory: Ansible reads it too.
        carried['ubuntu_enabled'] = ['24.04']
        (inventory_dir / 'region_one.yml').write_text(yaml.safe_dump(carried), encoding='utf-8')
        day = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=inventory(day1, carried),
                           args=limit, timeout=1800)
        assert day.rc == 0, day.output
        images = {image.id: image for image in managed_images(conn, provider)}
        extra = {(i.name, i.properties.get('cloudimages_release'), i.properties.get('cloudimages_build'),
                  i.properties.get('cloudimages_digest')) for i in images.values() if i.id not in oim}
        ours = {(i.name, i.properties.get('cloudimages_release'), i.properties.get('cloudimages_build'),
                 i.properties.get('cloudimages_digest')) for i in images.values() if i.id in oim}
        assert not extra, (extra, ours, json.dumps(summary(day, 'region_one'))[:6000])
        assert set(images) == set(oim)
        assert images[names['Ubuntu 24.04']].name == 'Ubuntu 24.04'
        assert images[old_ubuntu].name == 'Ubuntu 24.04 (%s)' % ubuntu[0].version
        assert (images[old_ubuntu].visibility, images[old_ubuntu].is_hidden) == ('public', False)
        debian = images[names['Debian 12']].properties
        # The operator's release property wins over OIM's; OIM's reset does not override debian_properties.
        assert debian['replace_frequency'] == 'monthly' and debian.get('hw_watchdog_action') != 'reset'

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
        for key in ('ubuntu-24.04', 'debian-12', 'cirros-0.6', 'generic-opensuse-leap-15.6'):
            builds = [image.properties['cloudimages_build'] for image in by_key[key]]
            assert len(builds) == len(set(builds)), (key, builds)  # no build uploaded twice
        latest = {image.name: image.id for image in images.values()}
        assert latest['Ubuntu 24.04'] in new and latest['Debian 12'] in new
        assert images[names['Ubuntu 24.04']].name == 'Ubuntu 24.04 (%s)' % ubuntu[1].version
        # As in OIM, the previous Latest stays public and listed (marked demoted); one image has the latest name.
        previous = images[names['Ubuntu 24.04']]
        assert (previous.visibility, previous.is_hidden) == ('public', False), previous
        assert 'cloudimages_demoted_at' in previous.properties
        assert [i.id for i in images.values() if i.name == 'Ubuntu 24.04'] == [latest['Ubuntu 24.04']]
        assert old_ubuntu in images  # in use (or usage unknown on the light stack): kept
        if not cloud.full:
            assert set(oim) <= set(images)  # usage unknown: no OIM UUID is deleted
        if booted is not None:
            assert conn.compute.get_server(booted.id).image['id'] == old_ubuntu
        assert conn.image.get_image(planted.id).tags == [OIM_TAG]
        # The generic release followed latest_url: the new build behind the same name is its new Latest.
        new_opensuse = latest['openSUSE Leap 15.6']
        assert new_opensuse in new and images[new_opensuse].properties['cloudimages_trust'] == 'tls-only'
        assert images[new_opensuse].properties['cloudimages_digest'] == 'sha512:' + mirror.releases['debian', '13'].sha512
        assert images[names['openSUSE Leap 15.6']].name == 'openSUSE Leap 15.6 (%s)' % opensuse['versions'][0]['version']
        if booted is not None:
            delete_server(conn, booted.id)  # the local cloud soft-deletes: forced


def killed_run(cloud, inventory, migrate_vars, limit, held, tmp_path):
    """Run the migration with Glance behind a proxy that holds every PATCH of ``held``; SIGKILL the job
    (ansible-playbook, its workers and the module) once the first is held."""
    held_paths = '/v2/images/(%s)' % '|'.join(held)
    with GlanceProxy(cloud.endpoints['RegionOne']['image']) as proxy:
        proxy.fail('PATCH', held_paths, 'hang')
        proxied = cloud_dict(cloud.clouds_yaml, 'admin', 'RegionOne', image_endpoint=proxy.url)
        argv, env = playbook_command('cloudimages.openstack.migrate_oim', env=cloud.env(), inventory=inventory,
                                     extra_vars=dict(migrate_vars, cloud=proxied), args=limit)
        with open(tmp_path / 'killed.log', 'wb') as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                    start_new_session=True)
        try:
            deadline = time.monotonic() + 600
            while not proxy.count('PATCH', held_paths) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            kill_tree(proc.pid)
            proc.wait(60)
        assert proxy.count('PATCH', held_paths) == 1, (tmp_path / 'killed.log').read_text()
        assert proxy.count('PATCH') == 2, proxy.writes()  # the first adoption went through
