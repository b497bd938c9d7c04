from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils._image_query import build_queries, flatten, matches, select


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


def test_select_dedups_filters_and_sorts():
    images = [
        {'id': '2', 'name': 'b', 'tags': ['t'], 'properties': {}},
        {'id': '1', 'name': 'b', 'tags': ['t'], 'properties': {}},
        {'id': '3', 'name': 'a', 'tags': [], 'properties': {}},
        {'id': '1', 'name': 'b', 'tags': ['t'], 'properties': {}},
    ]
    assert [i['id'] for i in select(images)] == ['3', '1', '2']
    assert [i['id'] for i in select(images, tags=['t'])] == ['1', '2']
