"""An in-memory stand-in for Glance's image table, to check plans by applying them (unit tests only).

It implements exactly the effects the executor asks of Glance (JSON-patch on name, visibility,
os_hidden and properties; deactivate; delete) so the planner can be checked for convergence
without a cloud; the same properties are checked against the real Glance in
tests/integration/test_image_rotate.py.
"""

from __future__ import annotations

import copy
import itertools

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed

PROVIDER = 'example'
RELEASE = 'ubuntu-24.04'
TAG = _managed.TAG_PREFIX + PROVIDER
OWNER = 'proj-provider'
OWNERS = (OWNER,)
_ids = itertools.count(1)


def image(created_at, visibility='public', name='x', status='active', release=RELEASE, tags=(TAG,), protected=False,
          os_hidden=False, image_id=None, owner=OWNER, **properties):
    props = {_managed.RELEASE: release, _managed.BUILD: created_at[:10].replace('-', ''), _managed.DIGEST: 'sha256:00'}
    if release is None:
        del props[_managed.RELEASE]
    props.update(properties)
    return {'id': image_id or 'img-%04d' % next(_ids), 'name': name, 'status': status, 'visibility': visibility,
            'os_hidden': os_hidden, 'protected': protected, 'tags': sorted(tags), 'created_at': created_at, 'owner': owner,
            'properties': props}


def apply(images, actions, limit=None):
    """Apply the first ``limit`` actions (all by default) to a copy of ``images``; return the new list."""
    table = {img['id']: copy.deepcopy(img) for img in images}
    for action in actions[:limit]:
        img = table.get(action['id'])
        if img is None:
            continue  # someone else deleted it first: the executor treats 404 as done
        if action['action'] in ('delete', 'cleanup'):
            del table[action['id']]
        elif action['action'] == 'deactivate':
            img['status'] = 'deactivated'
        for op in action['patch']:
            key = op['path'][1:].replace('~1', '/').replace('~0', '~')
            if key in ('name', 'visibility', 'os_hidden'):
                img[key] = op['value']
            elif op['op'] == 'remove':
                img['properties'].pop(key, None)
            else:
                img['properties'][key] = op['value']
    return list(table.values())


def by_name(images):
    return {img['name']: img for img in images}
