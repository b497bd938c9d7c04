# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Who uses an image: Nova servers and Cinder volumes in every project.

A server uses an image when its ``image.id`` is the image, in any state Nova can bring back:
every state Nova lists (ACTIVE, SHUTOFF, ERROR, SHELVED_OFFLOADED, …; unshelving and
rebuilding need the image) and SOFT_DELETED, which ``restore`` brings back and which Nova lists
only with the admin filter ``deleted``. A volume uses it when its
``volume_image_metadata.image_id`` is the image (bootable volumes of boot-from-volume servers
included).

Users in flight show no image yet: Cinder writes ``volume_image_metadata`` after the copy, and
a boot-from-volume server in BUILD has no image. Such volumes (``creating``, ``downloading``)
and servers make every delete wait (``pending``).

The answer is ``complete`` only when each service *shows* that it lets this token see every
project (``visibility``); role names prove nothing under a custom policy. Nova answers 403 to
``all_tenants`` without its rule, but silently drops the ``deleted`` filter without
``allow_all_filters``: with that rule Nova refuses a joined-table filter (400) it otherwise
drops, which is the proof. Cinder silently drops ``all_tenants`` unless ``context_is_admin``
holds; from microversion 3.33 it refuses (400) a filter it does not publish to non-admins, and
accepts it for admins, which is the proof. Both probes change nothing and return at most one row.

A service the operator says exists (``services``, default both) but whose endpoint the catalog
does not give for the connection's region and interface, or which fails or times out, makes
the usage ``unknown``: a typo in a region or a hanging service must not read as "nobody uses it".
Nothing is deleted on unknown or incomplete usage.
"""

from __future__ import annotations

try:
    from keystoneauth1.exceptions import ClientException
    from openstack import exceptions as sdk_exceptions
except ImportError:  # the module reports the missing SDK
    sdk_exceptions = ClientException = None

NOVA_ALL_TENANTS = 'os_compute_api:servers:detail:get_all_tenants'
NOVA_ALL_FILTERS = 'os_compute_api:servers:allow_all_filters'
CINDER_ADMIN = 'context_is_admin'
VOLUME_IN_FLIGHT = ('creating', 'downloading')


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


def in_flight(servers, volumes):
    """Servers in BUILD and volumes being filled whose image is not visible yet (pure)."""
    found = [dict(server_entry(s), kind='server') for s in servers
             if s.status == 'BUILD' and not server_image_id(s)]
    found += [dict(volume_entry(v), kind='volume') for v in volumes
              if v.status in VOLUME_IN_FLIGHT and not volume_image_id(v)]
    return sorted(found, key=lambda user: (user['kind'], user['id']))


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


# Option value -> openstacksdk service type.
SERVICES = {'compute': 'compute', 'volume': 'block-storage'}
DEFAULT_SERVICES = tuple(SERVICES)


def _missing(conn, service):
    region = getattr(conn.config, 'region_name', None) if getattr(conn, 'config', None) else None
    interface = conn.config.get_interface() if getattr(conn, 'config', None) else None
    return ('no %s endpoint in the catalog for region %s, interface %s (list only the services this cloud has '
            'in usage_services)' % (service, region, interface))


def nova_filters_honoured(conn):
    """True when Nova applies admin-only filters such as ``deleted`` for this token (see the module doc)."""
    response = conn.compute.get('/servers/detail?services=probe&limit=1', raise_exc=False)
    if response.status_code == 400 and 'Invalid filter field' in response.text:
        return True
    sdk_exceptions.raise_from_response(response)
    return False


def cinder_sees_all(conn):
    """True when Cinder treats this token as admin, the rule that lets ``all_tenants`` through."""
    response = conn.block_storage.get('/volumes?all_tenants=1&limit=1&project_id=%s' % conn.current_project_id,
                                      microversion='3.33', raise_exc=False)
    if response.status_code == 400 and 'Invalid filters' in response.text:
        return False
    sdk_exceptions.raise_from_response(response)
    # Below 3.33 Cinder ignores the filter for everyone: that answer would prove nothing.
    if not response.headers.get('OpenStack-API-Version', '').endswith(' 3.33'):
        raise sdk_exceptions.SDKException('Cinder did not answer at microversion 3.33 (OpenStack-API-Version: %s)'
                                          % response.headers.get('OpenStack-API-Version'))
    return True


def _servers(conn, image_ids, gaps):
    """Servers that may use ``image_ids``, soft-deleted and in-flight ones included."""
    # One image: let Nova filter, and list the servers in BUILD (no image id yet) beside it.
    queries = [{'image': image_ids[0]}, {'status': 'BUILD'}] if len(image_ids) == 1 else [{}]
    try:
        servers = _each(conn, queries, all_projects=True)
    except sdk_exceptions.ForbiddenException:
        gaps.append('Nova refused to list the servers of all projects (403, policy rule %s); only this project\'s '
                    'servers were checked' % NOVA_ALL_TENANTS)
        return _each(conn, queries)
    if not nova_filters_honoured(conn):
        gaps.append('Nova ignores the deleted filter for this token (policy rule %s), so soft-deleted servers, '
                    'which restore brings back, cannot be seen' % NOVA_ALL_FILTERS)
        return servers
    soft = {'status': 'SOFT_DELETED', 'deleted_only': True}
    if len(image_ids) == 1:
        soft['image'] = image_ids[0]
    # Nova answers with hard-deleted servers (DELETED) too, whatever the status filter: gone for good.
    return servers + [s for s in _each(conn, [soft], all_projects=True) if s.status == 'SOFT_DELETED']


def _each(conn, queries, **common):
    """The servers of ``queries``, each once."""
    found = {}
    for query in queries:
        for server in conn.compute.servers(details=True, **dict(common, **query)):
            found.setdefault(server.id, server)
    return list(found.values())


def _volumes(conn, gaps):
    if cinder_sees_all(conn):
        return list(conn.block_storage.volumes(details=True, all_projects=True))
    gaps.append('Cinder does not treat this token as admin (policy rule %s) and would silently drop all_tenants; '
                'only this project\'s volumes were checked' % CINDER_ADMIN)
    return list(conn.block_storage.volumes(details=True))


def _failed(service, exc):
    return '%s could not be asked (%s: %s)' % (service, type(exc).__name__, exc)


def lookup(conn, image_ids, services=DEFAULT_SERVICES):
    """Usage of ``image_ids`` as seen by ``conn``: ``{'complete', 'unknown', 'reason', 'images', 'pending'}``.

    ``services``: those the cloud has (``compute``, ``volume``); one of them without an endpoint,
    failing or timing out makes the answer ``unknown`` (and incomplete). A service not listed is
    still checked if found. ``pending``: users in flight (``in_flight``).
    """
    image_ids = list(image_ids)
    gaps, unknown = [], []
    if not image_ids:
        return {'complete': True, 'unknown': False, 'reason': None, 'images': {}, 'pending': []}
    readers = {'compute': ('compute', 'Nova', lambda: _servers(conn, image_ids, gaps)),
               'volume': ('block-storage', 'Cinder', lambda: _volumes(conn, gaps))}
    found = {'compute': [], 'volume': []}
    for option, (service, name, read) in readers.items():
        if not conn.has_service(service):
            if option in services:
                unknown.append(_missing(conn, option))
            continue
        try:
            found[option] = read()
        except (sdk_exceptions.SDKException, ClientException) as exc:
            unknown.append(_failed(name, exc))
    if unknown:
        gaps = ['usage unknown: ' + '; '.join(unknown)] + gaps
    return {'complete': not gaps, 'unknown': bool(unknown), 'reason': '; '.join(gaps) or None,
            'images': group_usage(image_ids, found['compute'], found['volume']),
            'pending': in_flight(found['compute'], found['volume'])}


def pending_text(pending):
    """Why deletes wait for users in flight (ids only: names are other tenants' data)."""
    return 'deletes postponed while %s' % ', '.join(
        '%s %s (project %s) is %s with no image id visible yet' % (
            user['kind'], user['id'], user.get('project_id'), user.get('status', '').lower())
        for user in pending)


def in_use(conn, image_id, services=DEFAULT_SERVICES):
    """Fresh check of one image just before deleting it."""
    entry = lookup(conn, [image_id], services)
    users = entry['images'][image_id]
    return bool(users['servers'] or users['volumes']), entry
