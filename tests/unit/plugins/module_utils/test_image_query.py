from __future__ import annotations

import pytest
from openstack import exceptions

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    build_queries, flatten, list_impostors, list_managed, matches, resolve_owners, select)


def test_queries_cover_hidden_modes():
    assert build_queries(hidden='exclude') == [{'is_hidden': False}]
    assert build_queries(hidden='only') == [{'is_hidden': True}]
    assert build_queries(name='x', tags=['a', 'b'], visibility='community', hidden='include') == [
        {'name': 'x', 'tag': ['a', 'b'], 'visibility': 'community', 'is_hidden': False},
        {'name': 'x', 'tag': ['a', 'b'], 'visibility': 'community', 'is_hidden': True},
    ]


def test_queries_leave_out_unset_filters():
    assert build_queries(status='active', owner='p1') == [{'status': 'active', 'owner': 'p1', 'is_hidden': False}]


@pytest.mark.parametrize('tags, properties, expected', [
    (None, None, True),
    (['managed'], None, True),
    (['managed', 'other'], None, False),
    (None, {'os_version': '24.04'}, True),
    (None, {'os_version': 24.04}, True),     # YAML may hand us a float; Glance stores strings
    (None, {'os_version': '22.04'}, False),
    (None, {'missing': ''}, False),          # absent is not the same as empty
])
def test_matches(tags, properties, expected):
    image = {'tags': ['managed', 'os:ubuntu'], 'properties': {'os_version': '24.04', 'os_distro': 'ubuntu'}}
    assert matches(image, tags, properties) is expected


def test_flatten_keeps_base_fields_and_sorts():
    raw = {'id': 'i1', 'name': 'n', 'tags': ['b', 'a'], 'properties': {'z': '1', 'a': '2'}, 'os_hash_algo': 'sha512',
           'os_distro': 'ubuntu', 'architecture': None, 'file': '/v2/images/i1/file', 'schema': '/v2/schemas/image'}
    image = flatten(raw)
    assert image['tags'] == ['a', 'b']
    assert image['properties'] == {'a': '2', 'os_distro': 'ubuntu', 'z': '1'}
    assert list(image['properties']) == ['a', 'os_distro', 'z']
    assert image['os_hash_algo'] == 'sha512'
    assert 'file' not in image and 'file' not in image['properties']
    assert image['status'] is None


def test_flatten_reads_stores_where_openstacksdk_keeps_it_and_where_glance_sends_it():
    # openstacksdk's Image has no stores attribute: it lands in properties; Glance's JSON has it at the top.
    sdk = {'id': 'i1', 'tags': [], 'properties': {'stores': 'local,edge', 'os_glance_failed_import': ''}}
    assert flatten(sdk)['stores'] == 'local,edge' and flatten(sdk)['properties'] == {'os_glance_failed_import': ''}
    assert flatten({'id': 'i1', 'stores': 'local'})['stores'] == 'local'


def test_select_dedups_filters_and_sorts():
    images = [
        {'id': '2', 'name': 'b', 'tags': ['t'], 'properties': {}},
        {'id': '1', 'name': 'b', 'tags': ['t'], 'properties': {}},
        {'id': '3', 'name': 'a', 'tags': [], 'properties': {}},
        {'id': '1', 'name': 'b', 'tags': ['t'], 'properties': {}},
    ]
    assert [i['id'] for i in select(images)] == ['3', '1', '2']
    assert [i['id'] for i in select(images, tags=['t'])] == ['1', '2']


class _Response:
    def __init__(self, body):
        self.status_code, self.headers, self._body = 200, {}, body

    def json(self):
        return self._body


class _CarelessGlance:
    """A Glance that ignores the owner filter (stand-in: the real one honours it, see
    tests/integration/test_impersonation.py), one image per page; records the queries and paths it was asked."""

    current_project_id = 'proj-provider'

    def __init__(self, images):
        self.queries, self.paths, self._images, self._pending = [], [], images, []
        self.image = self

    def get(self, path, params=None, **retry):
        self.paths.append(path)
        if params is not None:  # a first page; the next ones follow Glance's next link
            self.queries.append(params)
            self._pending = [i for i in self._images if set(params.get('tag', ())) <= set(i['tags'])]
        page, self._pending = self._pending[:1], self._pending[1:]
        more = {'next': '/v2/images?marker=%s&tag=managed_by_example' % page[0]['id']} if self._pending else {}
        return _Response(dict(images=page, **more))


def _raw(image_id, owner, release='debian-12'):
    return {'id': image_id, 'name': image_id, 'owner': owner, 'tags': ['managed_by_example'],
            'properties': {'cloudimages_release': release}}


def test_list_managed_asks_per_owner_and_checks_the_owner_again():
    conn = _CarelessGlance([_raw('ours', 'proj-provider'), _raw('forged', 'proj-tenant'),
                            _raw('other-release', 'proj-provider', 'debian-13')])
    owners = resolve_owners(conn)
    assert owners == ('proj-provider',)
    assert [i['id'] for i in list_managed(conn, 'example', owners, 'debian-12')] == ['ours']
    assert conn.queries == [{'tag': ['managed_by_example'], 'visibility': 'all', 'owner': 'proj-provider', 'os_hidden': flag}
                            for flag in ('false', 'true')]
    # every page, Glance's next link taken relative to the versioned endpoint
    assert conn.paths == ['/images', '/images?marker=ours&tag=managed_by_example',
                          '/images?marker=forged&tag=managed_by_example'] * 2
    warnings = list_impostors(conn, 'example', owners)
    assert len(warnings) == 1 and 'image forged' in warnings[0] and 'project proj-tenant' in warnings[0]
    assert resolve_owners(conn, ['b' * 32, 'a' * 32]) == ('a' * 32, 'b' * 32)  # ids: no Keystone lookup


def test_a_glance_that_sends_the_same_page_again_is_refused():
    conn = _CarelessGlance([_raw('a', 'proj-provider'), _raw('b', 'proj-provider'), _raw('c', 'proj-provider')])
    conn.get = lambda path, params=None, **retry: _Response({'images': [], 'next': '/v2/images?marker=a'})
    with pytest.raises(exceptions.SDKException, match='sent the page /images.marker=a again'):
        list_managed(conn, 'example', ('proj-provider',))
