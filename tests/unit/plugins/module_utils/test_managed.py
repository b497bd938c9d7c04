"""The managed-image contract (module_utils/_managed.py)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils import _managed


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


def test_is_member_needs_tag_and_release():
    image = {'tags': ['managed_by_example'], 'properties': {'cloudimages_release': 'debian-12'}}
    assert _managed.is_member(image, 'example', 'debian-12')
    assert not _managed.is_member(image, 'other', 'debian-12')
    assert not _managed.is_member(image, 'example', 'debian-13')
    assert not _managed.is_member({'tags': None, 'properties': None}, 'example', 'debian-12')
