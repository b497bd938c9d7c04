"""A small real qcow2 (``qemu-img create``) uploaded as a private image with a unique name.

The shared local Glance keeps its database in SQLite, which now and then answers a 500
("database is locked") when several helpers' tests write at once; those calls are retried.
"""

from __future__ import annotations

import subprocess
import time
import uuid

from openstack import exceptions


def make_qcow2(directory, size='64M'):
    path = directory / ('blank-%s.qcow2' % uuid.uuid4().hex[:8])
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path), size], check=True)
    return path


def retry_5xx(func, *args, attempts=4, **kwargs):
    for attempt in range(attempts):
        try:
            return func(*args, **kwargs)
        except exceptions.HttpException as exc:
            if exc.status_code is None or exc.status_code < 500 or attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)
    return None


def _put_file(conn, image_id, path):
    with open(path, 'rb') as data:
        response = conn.image.put('/images/%s/file' % image_id, data=data, headers={'Content-Type': 'application/octet-stream'})
    exceptions.raise_from_response(response)


def _upload_once(conn, path, prefix, attrs):
    image = retry_5xx(conn.image.create_image, name='%s-%s' % (prefix, uuid.uuid4().hex[:8]), disk_format='qcow2',
                      container_format='bare', visibility='private', allow_duplicates=True, **attrs)
    try:
        _put_file(conn, image.id, path)
        deadline = time.monotonic() + 60
        while image.status != 'active':
            if image.status in ('killed', 'deleted') or time.monotonic() > deadline:
                raise RuntimeError('image %s did not become active: %s' % (image.id, image.status))
            time.sleep(0.5)
            image = retry_5xx(conn.image.get_image, image.id)
    except Exception:
        delete_image(conn, image.id)
        raise
    return image


def upload_private(conn, path, prefix, attempts=3, **attrs):
    """Upload ``path`` private under ``<prefix>-<uuid8>`` and wait until Glance has it active.

    A failed data upload can leave the image stuck in ``saving``, so a retry starts with a new image.
    """
    for attempt in range(attempts):
        try:
            return _upload_once(conn, path, prefix, attrs)
        except exceptions.HttpException as exc:
            if (exc.status_code or 0) < 500 or attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)
    return None


def delete_image(conn, image_id):
    try:
        retry_5xx(conn.image.delete_image, image_id, ignore_missing=True)
    except exceptions.BadRequestException:
        # A DELETE that failed with "database is locked" can leave the image marked deleted;
        # deleting it again is then a 400.
        image = conn.image.find_image(image_id, ignore_missing=True)
        if image is not None and image.status not in ('deleted', 'pending_delete'):
            raise
