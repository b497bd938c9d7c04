"""A small real qcow2 (``qemu-img create``) uploaded as a private image with a unique name."""

from __future__ import annotations

import subprocess
import time
import uuid


def make_qcow2(directory, size='64M'):
    path = directory / ('blank-%s.qcow2' % uuid.uuid4().hex[:8])
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path), size], check=True)
    return path


def upload_private(conn, path, prefix, **attrs):
    """Upload ``path`` private under ``<prefix>-<uuid8>`` and wait until Glance has it active."""
    with open(path, 'rb') as data:
        image = conn.image.create_image(name='%s-%s' % (prefix, uuid.uuid4().hex[:8]), disk_format='qcow2', container_format='bare',
                                        visibility='private', data=data, allow_duplicates=True, **attrs)
    deadline = time.monotonic() + 60
    while image.status != 'active':
        if image.status in ('killed', 'deleted') or time.monotonic() > deadline:
            conn.image.delete_image(image.id, ignore_missing=True)
            raise RuntimeError('image %s did not become active: %s' % (image.id, image.status))
        time.sleep(0.5)
        image = conn.image.get_image(image.id)
    return image
