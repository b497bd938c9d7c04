# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""List Glance images: query building, local filtering, flat results.

Glance filters by name, tag, visibility, status, owner and os_hidden on the server;
custom properties are not queryable through openstacksdk, so they are matched here.
Everything but ``list_images``, ``resolve_owners``, ``list_managed`` and ``list_impostors`` is pure.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import RETRY_IDEMPOTENT

_PROJECT_ID = re.compile(r'^[0-9a-f]{32}$')  # Keystone's project ids (uuid4 hex)

# Glance's list hides os_hidden images unless asked, so "include" needs both lists.
_HIDDEN_QUERIES = {'exclude': (False,), 'only': (True,), 'include': (False, True)}


def build_queries(name=None, tags=None, visibility=None, status=None, owner=None, hidden='exclude'):
    """Return the openstacksdk ``images(**query)`` keyword sets that together cover the request."""
    base = {}
    if name is not None:
        base['name'] = name
    if tags:
        base['tag'] = list(tags)
    if visibility is not None:
        base['visibility'] = visibility
    if status is not None:
        base['status'] = status
    if owner is not None:
        base['owner'] = owner
    return [dict(base, is_hidden=flag) for flag in _HIDDEN_QUERIES[hidden]]


def matches(image, tags=None, properties=None):
    """True when a flat image dict carries every tag and every property (compared as strings)."""
    if tags and not set(tags) <= set(image.get('tags') or ()):
        return False
    have = image.get('properties') or {}
    return all(key in have and str(have[key]) == str(value) for key, value in (properties or {}).items())


def flatten(raw):
    """Turn an openstacksdk Image into our result shape: Glance's names, custom properties in one dict.

    ``raw`` is ``Image.to_dict(computed=False, original_names=True)``. openstacksdk models some
    properties as attributes (os_distro, architecture, hw_*) and keeps the others in
    ``properties``; unset attributes come back as None, which no Glance property can be. Glance
    fields it has no attribute for (``stores``) are taken out of ``properties``.
    """
    extra = raw.get('properties') or {}
    image = {field: extra.get(field) if raw.get(field) is None else raw.get(field) for field in _managed.IMAGE_FIELDS}
    image['tags'] = sorted(raw.get('tags') or [])
    properties = {key: value for key, value in raw.items() if key not in _managed.GLANCE_KEYS and value is not None}
    properties.update((key, value) for key, value in extra.items() if key not in _managed.GLANCE_KEYS)
    image['properties'] = dict(sorted(properties.items()))
    return image


def from_sdk(image):
    """An openstacksdk Image in the flat shape of ``flatten``."""
    return flatten(image.to_dict(computed=False, original_names=True))


def query_params(query):
    """Glance's query parameters for the keywords of ``build_queries`` (openstacksdk's names)."""
    return {'os_hidden' if key == 'is_hidden' else key: str(value).lower() if isinstance(value, bool) else value
            for key, value in query.items()}


def pages(conn, query):
    """Glance's images for one ``build_queries`` keyword set, page after page, as Glance sends them.

    Not openstacksdk's ``images()``: building its Image objects cost more CPU than the requests.
    Errors are openstacksdk's all the same (``raise_from_response``).
    """
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    path, params = '/images', query_params(query)
    while path:
        response = conn.image.get(path, params=params, **RETRY_IDEMPOTENT)
        exceptions.raise_from_response(response)
        body = response.json()
        yield from body.get('images') or ()
        # '/v2/images?marker=...' with every filter: relative to the versioned endpoint like '/images'
        following = re.sub(r'^/v\d+(?=/)', '', body.get('next') or '')
        if following == path:
            raise exceptions.SDKException('Glance sent the page %s again as the next one' % path)
        path, params = following, None


def list_images(conn, tags=None, properties=None, **query):
    """Images matching ``query`` (keywords of ``build_queries``), ``tags`` and ``properties``: flat, unique, sorted."""
    raw = [image for kwargs in build_queries(tags=tags, **query) for image in pages(conn, kwargs)]
    return select([flatten(image) for image in raw], tags, properties)


def select(images, tags=None, properties=None):
    """Deduplicate by id (the hidden queries may overlap), filter, and sort stably by name then id."""
    unique = {image['id']: image for image in images}
    kept = [image for image in unique.values() if matches(image, tags, properties)]
    return sorted(kept, key=lambda image: (image.get('name') or '', image['id']))


def resolve_owners(conn, owners=None):
    """The projects whose tagged images are ours: ``owners`` when given, else the credentials' project.

    An owner that is not a project id (32 hex digits) is taken as a project name and resolved
    through Keystone; ValueError when Keystone knows no such project, several (one per domain),
    or refuses to say.
    """
    owners = [owner for owner in owners or () if owner]
    return _managed.check_owners([project_id(conn, owner) for owner in owners] or [conn.current_project_id])


def project_id(conn, owner):
    """``owner`` as a project id: itself when it is one, else the one project Keystone names so."""
    if not isinstance(owner, str) or _PROJECT_ID.match(owner):
        return owner
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    try:
        found = [project.id for project in conn.identity.projects(name=owner)]
    except exceptions.SDKException as exc:
        raise ValueError('owners: %r is not a project id and Keystone did not resolve it as a project name (%s); '
                         'give project ids' % (owner, exc)) from None
    if len(found) != 1:
        raise ValueError('owners: %r is not a project id and Keystone knows %s by that name; give project ids' % (
            owner, 'no project' if not found else '%d projects (in different domains)' % len(found)))
    return found[0]


def list_managed(conn, provider, owners, release_key=None, visibility='all', hidden='include', **query):
    """THE listing of managed images: Glance filters by tag and owner (one query per owner), and every
    image is checked again here (tag, owner, release when given), so a Glance that ignored a filter
    cannot slip another tenant's image in. ``query``: other keywords of ``build_queries``."""
    owners = _managed.check_owners(owners)
    tag = _managed.managed_tag(provider)
    found = [image for owner in owners
             for image in list_images(conn, [tag], visibility=visibility, hidden=hidden, owner=owner, **query)]
    return select([image for image in found if _managed.is_managed(image, provider, owners)
                   and (release_key is None or image['properties'].get(_managed.RELEASE) == release_key)])


def list_squatters(conn, provider, owners, names):
    """Warnings about images of other projects named like a managed release's Latest (one Glance
    query for all ``names``: its ``in:`` operator; reporting only, nothing here is acted on)."""
    names = sorted(set(names))
    if not names:
        return []
    quoted = ','.join('"%s"' % name.replace('\\', '\\\\').replace('"', '\\"') for name in names)
    found = list_images(conn, visibility='all', hidden='include', name='in:' + quoted)
    return _managed.name_squatters(found, provider, _managed.check_owners(owners), names)


def list_impostors(conn, provider, owners, release_key=None):
    """Warnings about images with our tag and another owner (a tag-only query, so only for reporting:
    nothing from here may be acted on or downloaded from)."""
    tagged = list_images(conn, [_managed.managed_tag(provider)], visibility='all', hidden='include')
    return [_managed.impostor_warning(image, provider)
            for image in _managed.impostors(tagged, provider, _managed.check_owners(owners), release_key)]
