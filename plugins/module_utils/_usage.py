# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Who uses an image: Nova servers and Cinder volumes in every project.

A server uses an image when its ``image.id`` is the image, in any state Nova lists (ACTIVE,
SHUTOFF, ERROR, SHELVED, SHELVED_OFFLOADED, …; unshelving and rebuilding need the image).
A volume uses it when its ``volume_image_metadata.image_id`` is the image (created from it,
bootable volumes of boot-from-volume servers included).

The answer is ``complete`` only when the caller can list every project: Nova answers 403 to
``all_tenants`` for non-admins, and Cinder silently drops ``all_tenants`` for them (its
``context_is_admin`` rule is ``role:admin``), so for Cinder the token's roles decide.

A service the operator says exists (``services``, default both) but whose endpoint the catalog
does not give for the connection's region and interface makes the usage ``unknown``: a typo in
a region or interface must not read as "nobody uses it". Nothing is deleted on unknown usage.
"""

from __future__ import annotations

try:
    from openstack import exceptions as sdk_exceptions
except ImportError:  # the module reports the missing SDK
    sdk_exceptions = None


def server_entry(server):
    return {'id': server.id, 'name': server.name, 'project_id': server.project_id, 'status': server.status}


def volume_entry(volume):
    return {'id': volume.id, 'name': volume.name, 'project_id': volume.project_id, 'status': volume.status}


def server_image_id(server):
    image = server.image
    if isinstance(image, dict):
        return image.get('id')
    return getattr(image, 'id', None) or None  # '' for boot-from-volume servers


def volume_image_id(volume):
    return (volume.volume_image_metadata or {}).get('image_id')


def group_usage(image_ids, servers, volumes):
    """``{id: {'servers': [...], 'volumes': [...]}}`` for ``image_ids`` from SDK objects (pure)."""
    found = {image_id: {'servers': [], 'volumes': []} for image_id in image_ids}
    for server in servers:
        entry = found.get(server_image_id(server))
        if entry is not None:
            entry['servers'].append(server_entry(server))
    for volume in volumes:
        entry = found.get(volume_image_id(volume))
        if entry is not None:
            entry['volumes'].append(volume_entry(volume))
    for entry in found.values():
        entry['servers'].sort(key=lambda s: s['id'])
        entry['volumes'].sort(key=lambda v: v['id'])
    return found


def _roles(conn):
    try:
        return set(conn.session.auth.get_access(conn.session).role_names or ())
    except Exception:  # pylint: disable=broad-except
        return set()


# Option value -> openstacksdk service type.
SERVICES = {'compute': 'compute', 'volume': 'block-storage'}
DEFAULT_SERVICES = tuple(SERVICES)


def _missing(conn, service):
    region = getattr(conn.config, 'region_name', None) if getattr(conn, 'config', None) else None
    interface = conn.config.get_interface() if getattr(conn, 'config', None) else None
    return ('no %s endpoint in the catalog for region %s, interface %s (list only the services this cloud has '
            'in usage_services)' % (service, region, interface))


def lookup(conn, image_ids, services=DEFAULT_SERVICES):
    """Usage of ``image_ids`` as seen by ``conn``: ``{'complete', 'unknown', 'reason', 'images'}``.

    ``services``: those the cloud has (``compute``, ``volume``); one of them without an endpoint
    makes the answer ``unknown`` (and incomplete). A service not listed is still checked if found.
    """
    image_ids = list(image_ids)
    gaps, missing = [], []
    servers, volumes = [], []
    if not image_ids:
        return {'complete': True, 'unknown': False, 'reason': None, 'images': {}}
    # One image: let Nova filter. deleted=False is Nova's default; every other state is listed.
    query = {'image': image_ids[0]} if len(image_ids) == 1 else {}
    if conn.has_service('compute'):
        try:
            servers = list(conn.compute.servers(details=True, all_projects=True, **query))
        except sdk_exceptions.ForbiddenException:
            servers = list(conn.compute.servers(details=True, **query))
            gaps.append('Nova refused to list the servers of all projects (403: needs the admin role); '
                        'only this project\'s servers were checked')
    elif 'compute' in services:
        missing.append(_missing(conn, 'compute'))
    if conn.has_service('block-storage'):
        admin = 'admin' in _roles(conn)
        volumes = list(conn.block_storage.volumes(details=True, all_projects=admin))
        if not admin:
            gaps.append('Cinder lists other projects\' volumes only for the admin role, which this token lacks; '
                        'only this project\'s volumes were checked')
    elif 'volume' in services:
        missing.append(_missing(conn, 'volume'))
    if missing:
        gaps = ['usage unknown: ' + '; '.join(missing)] + gaps
    return {'complete': not gaps, 'unknown': bool(missing), 'reason': '; '.join(gaps) or None,
            'images': group_usage(image_ids, servers, volumes)}


def in_use(conn, image_id, services=DEFAULT_SERVICES):
    """Fresh check of one image just before deleting it."""
    entry = lookup(conn, [image_id], services)
    users = entry['images'][image_id]
    return bool(users['servers'] or users['volumes']), entry
