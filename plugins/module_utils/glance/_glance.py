# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The Glance v2 calls of upload, rotation, status and usage, each spelled once.

By REST rather than openstacksdk's proxies, so every write is exactly one request whose answer
is checked (openstacksdk ignores the answer of some actions: a refused deactivate would pass as
done). Repeatable requests (GET, DELETE, deactivate) take the one retry policy of
``_openstack.RETRY_IDEMPOTENT``; writes are never retried, since they could happen twice.
Listings with Glance's filters are ``_image_query``'s.
"""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import flatten, list_images
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import NO_RETRY, RETRY_IDEMPOTENT

PATCH_CONTENT_TYPE = 'application/openstack-images-v2.1-json-patch'


class GlanceError(Exception):
    """A refused or failed Glance call, worded for the operator; ``status`` is Glance's HTTP status if any."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def listed(value):
    """The entries of a comma-separated Glance attribute (stores, os_glance_failed_import)."""
    return {entry.strip() for entry in str(value or '').split(',')} - {''}


def missing_stores(image, stores):
    """The ``stores`` Glance does not list for ``image``."""
    held = listed(image.get('stores'))
    return [store for store in stores if store not in held]


class Glance:
    """One cloud's Glance: ``Glance(conn)``; images come back flat (``_image_query.flatten``)."""

    def __init__(self, conn):
        self.conn = conn

    def _call(self, method, path, what, ok=(200, 201, 202, 204), repeatable=False, **kwargs):
        kwargs.update(RETRY_IDEMPOTENT if repeatable else NO_RETRY)
        try:
            response = getattr(self.conn.image, method)(path, raise_exc=False, **kwargs)
        except Exception as exc:  # keystoneauth connection errors: say what was being done
            raise GlanceError('%s: %s: %s' % (what, type(exc).__name__, exc)) from exc
        if response.status_code not in ok:
            text = ' '.join((response.text or '').split())[:400]
            status = response.status_code
            raise GlanceError('%s: HTTP %s %s' % (what, status, text), status)
        return response

    def list_identity(self, tag, identity):
        """Our project's images carrying the tag and identity properties, every visibility, hidden too."""
        return list_images(self.conn, [tag], identity, visibility='all', owner=self.conn.current_project_id,
                           hidden='include')

    def get(self, image_id):
        """The image, or None when Glance does not know it."""
        response = self._call('get', '/images/%s' % image_id, 'cannot read image %s' % image_id, ok=(200, 404),
                              repeatable=True)
        return None if response.status_code == 404 else flatten(response.json())

    def create(self, body):
        return flatten(self._call('post', '/images', 'cannot create the image', json=body).json())

    def put_file(self, image_id, reader, store=None):
        headers = {'Content-Type': 'application/octet-stream'}
        if store:
            headers['X-Image-Meta-Store'] = store
        self._call('put', '/images/%s/file' % image_id, 'upload to image %s failed' % image_id, data=reader,
                   headers=headers)

    def stage(self, image_id, reader):
        self._call('put', '/images/%s/stage' % image_id, 'staging data for image %s failed' % image_id, data=reader,
                   headers={'Content-Type': 'application/octet-stream'})

    def store_ids(self):
        """The stores of a multi-store Glance."""
        what = 'cannot list the stores of Glance (stores and all_stores need a multi-store Glance)'
        response = self._call('get', '/info/stores', what, ok=(200,), repeatable=True)
        return [store['id'] for store in response.json().get('stores', [])]

    def start_import(self, image_id, method, uri=None, stores=(), all_stores=False, must_succeed=True):
        body = {'method': {'name': method}}
        if uri:
            body['method']['uri'] = uri
        if stores or all_stores:
            body.update({'stores': list(stores)} if stores else {'all_stores': True})
            body['all_stores_must_succeed'] = must_succeed
        self._call('post', '/images/%s/import' % image_id,
                   'Glance refused the %s import of image %s' % (method, image_id), json=body)

    def patch(self, image_id, ops):
        """One PATCH with the JSON-patch ``ops``: every change of one image in one request."""
        self._call('patch', '/images/%s' % image_id, 'cannot change image %s' % image_id, ok=(200,), json=ops,
                   headers={'Content-Type': PATCH_CONTENT_TYPE})

    def deactivate(self, image_id):
        self._call('post', '/images/%s/actions/deactivate' % image_id, 'cannot deactivate image %s' % image_id,
                   ok=(204,), repeatable=True)

    def delete(self, image_id):
        """True when deleted now, False when it was gone already (another run got there first)."""
        response = self._call('delete', '/images/%s' % image_id, 'cannot delete image %s' % image_id,
                              ok=(204, 404), repeatable=True)
        return response.status_code == 204
