"""Shared by the rotation integration tests: managed images made with openstacksdk, library-level runs."""

from __future__ import annotations

import subprocess
import time
import uuid
from datetime import datetime, timezone

from openstack import exceptions as sdk_exceptions

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import execute, list_group
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import lookup


def tiny_qcow2(directory):
    path = directory / 'tiny.qcow2'
    if not path.exists():
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', str(path), '64M'], check=True, capture_output=True)
    return path.read_bytes()


class Group:
    """One release group with a unique provider tag; deletes every image of it at teardown."""

    def __init__(self, cloud, data, release_key='ubuntu-24.04'):
        self.cloud = cloud
        self.admin = cloud.connect('admin')
        self.data = data
        self.provider = 'rot%s' % uuid.uuid4().hex[:10]
        self.tag = _managed.managed_tag(self.provider)
        self.release_key = release_key
        self.name = 'Test Ubuntu %s' % self.provider
        self.latest = self.name + ' - Latest'
        self.builds = 0
        self.last_created = 0.0
        self.extra = []  # non-managed images to delete too
        # The projects whose images are the group's (the modules' owners option); admin's by default.
        self.owners = (self.admin.current_project_id,)

    def candidate(self, conn=None, visibility='private', name=None, with_data=True, **properties):
        conn = conn or self.admin
        # Versions are ordered by created_at, which Glance keeps to the second: wait until the
        # clock (Glance runs on this machine) is past the second of the previous build.
        time.sleep(max(0.0, self.last_created + 1.2 - time.time()))
        self.builds += 1
        props = _managed.identity(self.release_key, 'b%d' % self.builds, 'sha256:%064d' % self.builds)
        props.update(properties)
        kwargs = dict(name=name or 'candidate-%s-%d' % (self.provider, self.builds), disk_format='qcow2', container_format='bare',
                      visibility=visibility, tags=[self.tag], allow_duplicates=True, **props)
        image = retry(conn.image.create_image, **kwargs)
        self.last_created = datetime.fromisoformat(image.created_at.replace('Z', '+00:00')).timestamp()
        if with_data:
            # The shared stack's Glance runs on SQLite: under load from parallel tests an upload
            # can fail with 500 "database is locked" and leave the image queued; upload again.
            for attempt in range(3):
                response = conn.image.put('images/%s/file' % image.id, data=self.data, raise_exc=False,
                                          headers={'Content-Type': 'application/octet-stream'})
                if response.status_code < 500 or attempt == 2:
                    break
                time.sleep(1)
            assert response.status_code == 204, response.text
            self.wait_active(image.id)
        return image.id

    def wait_active(self, image_id, timeout=60):
        deadline = time.monotonic() + timeout
        while self.admin.image.get_image(image_id).status != 'active':
            if time.monotonic() > deadline:
                raise AssertionError('image %s not active' % image_id)
            time.sleep(0.3)

    def images(self, conn=None):
        return {image['id']: image for image in list_group(conn or self.admin, self.provider, self.release_key, self.owners)}

    def policy(self, **kwargs):
        kwargs.setdefault('owners', self.owners)
        # Builds here are seconds apart: the grace period after demotion is test_usage_in_flight.py's.
        kwargs.setdefault('demoted_grace_hours', 0)
        return Policy(self.provider, self.release_key, kwargs.pop('name', self.name), **kwargs)

    def run(self, conn=None, stop_after=None, now=None, **kwargs):
        """What the module does: list, plan, look usage up when needed, plan again, execute."""
        conn = conn or self.admin
        pol = self.policy(**kwargs)
        now = now or datetime.now(timezone.utc)
        images = list_group(conn, self.provider, self.release_key, pol.owners, extra_ids=[pol.candidate])
        result = plan(images, pol, now)
        if result.usage_needed:
            result = plan(images, pol, now, lookup(conn, result.usage_needed))
        outcomes = execute(conn, result.actions, pol.require_all_projects_usage, stop_after=stop_after)
        return result, outcomes

    def cleanup(self):
        owners = set(self.owners) | {self.admin.current_project_id}
        for image in retry(list_group, self.admin, self.provider, self.release_key, owners):
            if image['protected']:
                retry(self.admin.image.update_image, image['id'], is_protected=False)
            _delete(self.admin, image['id'])
        for image_id in self.extra:
            _delete(self.admin, image_id)


def _delete(conn, image_id):
    try:
        retry(conn.image.delete_image, image_id, ignore_missing=True)
    except sdk_exceptions.BadRequestException as exc:
        # A retried delete whose first attempt landed despite a 5xx: "transition from deleted to deleted".
        if 'deleted to deleted' not in str(exc):
            raise


def retry(func, *args, **kwargs):
    """Test set-up and teardown only: the shared Glance (SQLite) answers 500 "database is locked" under load."""
    for attempt in range(4):
        try:
            return func(*args, **kwargs)
        except sdk_exceptions.HttpException as exc:
            if attempt == 3 or (exc.status_code or 0) < 500:
                raise
            time.sleep(1 + attempt)
    return None


def created_date(image):
    return image['created_at'][:10]


def boot_server(conn, admin, image_id, name):
    """A server of ``conn``'s project booted from ``image_id`` (no network), ACTIVE: it holds the image
    in use, whether or not the image's bytes boot an OS."""
    flavor = admin.compute.find_flavor('m1.boot')
    server = conn.compute.create_server(name=name, image_id=image_id, flavor_id=flavor.id, networks='none')
    return conn.compute.wait_for_server(server, status='ACTIVE', failures=['ERROR'], wait=120)


def delete_server(conn, server_id):
    """Delete for good: the local cloud's Nova soft-deletes (reclaim_instance_interval), then forceDelete."""
    server = conn.compute.find_server(server_id, ignore_missing=True)
    if server is not None and server.status != 'SOFT_DELETED':
        conn.compute.delete_server(server_id)
        deadline = time.monotonic() + 120  # gone (a server never scheduled) or soft-deleted
        while server is not None and server.status != 'SOFT_DELETED' and time.monotonic() < deadline:
            time.sleep(1)
            server = conn.compute.find_server(server_id, ignore_missing=True)
    if server is not None:
        conn.compute.delete_server(server_id, force=True)
        conn.compute.wait_for_delete(server, wait=120)


def make_volume(conn, image_id, name):
    volume = conn.block_storage.create_volume(name=name, size=1, image_id=image_id)
    return conn.block_storage.wait_for_status(volume, status='available', failures=['error'], wait=120)


def delete_volume(conn, volume_id):
    volume = conn.block_storage.find_volume(volume_id, ignore_missing=True)
    if volume is not None:
        conn.block_storage.delete_volume(volume_id)
        conn.block_storage.wait_for_delete(volume, wait=120)
