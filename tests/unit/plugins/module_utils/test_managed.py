"""The managed-image contract (module_utils/glance/_managed.py)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed


@pytest.mark.parametrize('provider', ['example', 'a', 'x' * 63, 'my-cloud_1.prod'])
def test_managed_tag(provider):
    assert _managed.managed_tag(provider) == 'managed_by_' + provider


@pytest.mark.parametrize('provider', ['', None, 'Example', 'x' * 64, '-lead', 'with space', 'a/b'])
def test_bad_provider(provider):
    with pytest.raises(ValueError, match='provider must be 1-63 characters'):
        _managed.managed_tag(provider)


def test_identity_stringifies_the_build():
    assert _managed.identity('debian-12', 20261116, 'sha512:ab') == {
        'cloudimages_release': 'debian-12', 'cloudimages_build': '20261116', 'cloudimages_digest': 'sha512:ab'}


OURS = ('proj-provider',)


def test_is_member_needs_tag_release_and_owner():
    image = {'tags': ['managed_by_example'], 'owner': 'proj-provider', 'properties': {'cloudimages_release': 'debian-12'}}
    assert _managed.is_member(image, 'example', 'debian-12', OURS)
    assert not _managed.is_member(image, 'other', 'debian-12', OURS)
    assert not _managed.is_member(image, 'example', 'debian-13', OURS)
    assert not _managed.is_member({'tags': None, 'properties': None}, 'example', 'debian-12', OURS)


def test_same_tag_and_properties_of_another_project_is_not_managed():
    """Tag and properties are public: a tenant can copy them, but not the owner."""
    ours = {'id': 'a', 'tags': ['managed_by_example'], 'owner': 'proj-provider', 'properties': {'cloudimages_release': 'debian-12'}}
    copy = dict(ours, id='b', name='Debian 12 - Latest', visibility='community', owner='proj-tenant')
    unowned = dict(ours, id='c', owner=None)
    assert not _managed.is_member(copy, 'example', 'debian-12', OURS)
    assert not _managed.is_managed(unowned, 'example', OURS)
    assert _managed.is_member(copy, 'example', 'debian-12', ('proj-provider', 'proj-tenant'))
    assert _managed.impostors([ours, copy, unowned], 'example', OURS) == [copy, unowned]
    assert _managed.impostors([ours, copy], 'example', OURS, 'debian-13') == []
    warning = _managed.impostor_warning(copy, 'example')
    for part in ('b', "'Debian 12 - Latest'", 'community', 'proj-tenant', 'managed_by_example', 'cloudimages_release=debian-12'):
        assert part in warning


@pytest.mark.parametrize('owners', [None, [], '', 'proj', [''], [None], ['a', 3]])
def test_owners_must_be_a_non_empty_list(owners):
    with pytest.raises(ValueError, match='owners must be a non-empty list'):
        _managed.check_owners(owners)


def test_owners_are_deduplicated():
    assert _managed.check_owners(['b', 'a', 'b']) == ('a', 'b')


def test_owner_hints_name_the_images_of_other_projects():
    images = [{'id': 'a', 'visibility': 'public', 'owner': 'mine'},
              {'id': 'b', 'visibility': 'community', 'owner': 'other'}]
    assert _managed.owner_hints(images, 'CirrOS 0.6 - Latest', 'mine') == [
        "1 image(s) named 'CirrOS 0.6 - Latest' belong to other projects than yours: b (community, project other). "
        "Any project can give an image that name; give provider (and owners) for a provider's managed images only, "
        "or owner"]
    assert _managed.owner_hints(images[:1], 'x', 'mine') == []


def test_name_squatters_are_the_untagged_images_with_a_latest_name():
    tag = _managed.managed_tag('p')
    images = [{'id': 'ours', 'name': 'C - Latest', 'tags': [tag], 'owner': 'o', 'visibility': 'public'},
              {'id': 'impostor', 'name': 'C - Latest', 'tags': [tag], 'owner': 'x', 'visibility': 'community'},
              {'id': 'squat', 'name': 'C - Latest', 'tags': [], 'owner': 'x', 'visibility': 'community'},
              {'id': 'other', 'name': 'D', 'tags': [], 'owner': 'x', 'visibility': 'public'}]
    (warning,) = _managed.name_squatters(images, 'p', ('o',), {'C - Latest'})
    assert warning.startswith("image squat ('C - Latest', community) of project x carries the name of a managed release")
