"""Nova's real flows on the local cloud keep a managed image in use: a shelved-offloaded server, an instance
snapshot and a server booted from a volume (Glance takes Nova's chunked uploads, os-brick attaches the volume)."""

from __future__ import annotations

import subprocess

import pytest

from rotation_helpers import Group, boot_server, delete_server, delete_volume, make_volume

pytestmark = [pytest.mark.needs_nova, pytest.mark.needs_cinder]


def data_qcow2(directory):
    """A qcow2 with 8 MiB of random data: the snapshot and shelve uploads carry real chunks."""
    path = directory / 'data.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path), '64M'], check=True)
    random = directory / 'random.bin'
    random.write_bytes(__import__('os').urandom(8 << 20))
    subprocess.run(['qemu-io', '-c', 'write -s %s 0 8M' % random, str(path)], check=True, capture_output=True)
    return path.read_bytes()


def boot_from_volume(conn, admin, volume_id, name):
    flavor = admin.compute.find_flavor('m1.boot')
    server = conn.compute.create_server(name=name, flavor_id=flavor.id, networks='none', block_device_mapping=[
        {'boot_index': 0, 'uuid': volume_id, 'source_type': 'volume', 'destination_type': 'volume',
         'delete_on_termination': False}])
    return conn.compute.wait_for_server(server, status='ACTIVE', failures=['ERROR'], wait=180)


def test_shelved_snapshotted_and_volume_booted_servers_keep_their_image_until_the_last_is_gone(cloud, tmp_path):
    group = Group(cloud, data_qcow2(tmp_path))
    admin, demo = group.admin, cloud.connect('demo')
    servers, volumes, snapshots = [], [], []
    try:
        old = group.candidate()
        group.run(candidate=old)
        group.run(candidate=group.candidate())
        shelved = boot_server(demo, admin, old, 'shelve-%s' % group.provider)
        servers.append(shelved.id)
        demo.compute.shelve_server(shelved)
        demo.compute.wait_for_server(shelved, status='SHELVED_OFFLOADED', failures=['ERROR'], wait=300)
        snapped = boot_server(demo, admin, old, 'snap-%s' % group.provider)
        servers.append(snapped.id)
        snapshot = demo.compute.create_server_image(snapped, 'snapshot-%s' % group.provider, wait=True, timeout=300)
        snapshots.append(snapshot.id)
        assert demo.image.get_image(snapshot.id).status == 'active'
        volume = make_volume(demo, old, 'bfv-%s' % group.provider)
        volumes.append(volume.id)
        booted = boot_from_volume(demo, admin, volume.id, 'bfv-%s' % group.provider)
        servers.append(booted.id)

        for user in ('shelved', 'snapshotted', 'volume-booted'):
            result, _outcomes = group.run(keep=1, delete_unused=True)
            assert old in group.images(), user
            assert 'delete' not in [a['action'] for a in result.actions]
            if user == 'shelved':
                kept = {k['id']: k for k in result.kept}[old]
                assert {s['status'] for s in kept['servers']} >= {'SHELVED_OFFLOADED'}
            delete_server(demo, servers.pop(0))
        delete_volume(demo, volumes.pop())
        result, outcomes = group.run(keep=1, delete_unused=True)
        assert [(a['id'], o) for a, o in zip(result.actions, outcomes) if a['action'] == 'delete'] == [(old, 'done')]
        assert demo.image.get_image(snapshot.id).status == 'active'  # a snapshot is a copy: it outlives its base
    finally:
        for server_id in servers:
            delete_server(demo, server_id)
        for volume_id in volumes:
            delete_volume(demo, volume_id)
        for image_id in snapshots:
            demo.image.delete_image(image_id, ignore_missing=True)
        group.cleanup()
