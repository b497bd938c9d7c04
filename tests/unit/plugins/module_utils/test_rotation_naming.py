from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._naming import Naming, NamingError
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import TimeError, parse_time


def img(image_id, created_at, name='x', build='b'):
    return {'id': image_id, 'name': name, 'created_at': created_at, 'properties': {'cloudimages_build': build}}


def test_latest_suffix_profile():
    naming = Naming('Ubuntu 24.04 Noble Numbat')
    assert naming.latest == 'Ubuntu 24.04 Noble Numbat - Latest'
    assert naming.dated(img('a', '2026-11-16T23:59:59Z')) == 'Ubuntu 24.04 Noble Numbat - 2026-11-16'


def test_scs_profile():
    naming = Naming('Ubuntu 24.04', 'scs')
    assert naming.latest == 'Ubuntu 24.04'
    assert naming.dated(img('a', '2026-11-16T08:00:00Z')) == 'Ubuntu 24.04 20261116'
    assert naming.old_properties == {'os_purpose': ('generic', 'oldgeneric')}


def test_dated_names_use_first_upload_in_latest_suffix_and_build_date_in_scs():
    image = img('a', '2026-11-16T08:00:00Z')
    image['properties']['image_build_date'] = '2026-11-02 14:10'
    assert Naming('Ubuntu 24.04', 'latest_suffix').dated(image) == 'Ubuntu 24.04 - 2026-11-16'
    assert Naming('Ubuntu 24.04', 'scs').dated(image) == 'Ubuntu 24.04 20261102'
    assert Naming('Ubuntu 24.04', 'scs', {'dated': '{name} ({date})'}).dated(image) == 'Ubuntu 24.04 (2026-11-02)'
    # No (or no valid) build date: the upload date, never a failed rotation.
    image['properties']['image_build_date'] = 'last week'
    assert Naming('Ubuntu 24.04', 'scs').dated(image) == 'Ubuntu 24.04 20261116'


def test_superseded_generic_images_become_oldgeneric_in_every_profile():
    assert Naming('D').old_properties == Naming('D', 'scs').old_properties == {'os_purpose': ('generic', 'oldgeneric')}


def test_dates_are_utc():
    # 01:30 at +02:00 is the previous day in UTC.
    assert Naming('D').dated(img('a', '2026-11-16T01:30:00+02:00')) == 'D - 2026-11-15'
    assert parse_time('2026-11-16T01:30:00.123456').isoformat() == '2026-11-16T01:30:00.123456+00:00'


def test_custom_templates():
    naming = Naming('Debian 12', templates={'latest': '{name} (current)', 'dated': '{name} build {build}'})
    assert naming.latest == 'Debian 12 (current)'
    assert naming.dated(img('a', '2026-11-16T08:00:00Z', build='20261116-2019')) == 'Debian 12 build 20261116-2019'


def test_same_day_builds_get_numbered_by_created_at():
    naming = Naming('D')
    images = [img('z', '2026-11-16T10:00:00Z'), img('a', '2026-11-16T12:00:00Z'), img('m', '2026-11-16T10:00:00Z'),
              img('q', '2026-11-17T10:00:00Z')]
    assert naming.dated_names(images) == {'m': 'D - 2026-11-16', 'z': 'D - 2026-11-16 (2)', 'a': 'D - 2026-11-16 (3)',
                                          'q': 'D - 2026-11-17'}
    # Order of the input does not matter.
    assert naming.dated_names(list(reversed(images))) == naming.dated_names(images)


def test_existing_numbered_names_are_stable():
    naming = Naming('D')
    # The first build of the day was deleted: the others keep their names instead of shifting.
    images = [img('z', '2026-11-16T10:00:00Z', name='D - 2026-11-16 (2)'), img('a', '2026-11-16T12:00:00Z', name='D - 2026-11-16 (3)')]
    assert naming.dated_names(images) == {'z': 'D - 2026-11-16 (2)', 'a': 'D - 2026-11-16 (3)'}
    # Two images claiming the same variant: the older keeps it, the other gets a free one.
    images = [img('z', '2026-11-16T10:00:00Z', name='D - 2026-11-16'), img('a', '2026-11-16T12:00:00Z', name='D - 2026-11-16')]
    assert naming.dated_names(images) == {'z': 'D - 2026-11-16', 'a': 'D - 2026-11-16 (2)'}
    # A (1) or a variant of another day is not a valid name for this image.
    images = [img('z', '2026-11-16T10:00:00Z', name='D - 2026-11-16 (1)'), img('a', '2026-11-16T12:00:00Z', name='D - 2026-11-15 (2)')]
    assert naming.dated_names(images) == {'z': 'D - 2026-11-16', 'a': 'D - 2026-11-16 (2)'}


@pytest.mark.parametrize('kwargs, message', [
    (dict(profile='oim'), 'naming must be one of latest_suffix, scs'),
    (dict(templates={'newest': '{name}'}), 'takes the keys latest and dated, not newest'),
    (dict(templates={'latest': '{name} {date}'}), 'must not depend on the image'),
    (dict(templates={'dated': '{name} old'}), 'must contain {date}, {date_compact} or {build}'),
    (dict(templates={'dated': '{distro} {date}'}), 'unknown placeholders distro'),
    (dict(templates={'dated': '{date}'}), 'must contain {name}'),
    (dict(templates={'dated': '{name {date}'}), 'is not valid'),
    (dict(templates={'latest': ''}), 'must be a non-empty string'),
])
def test_bad_naming_is_refused(kwargs, message):
    with pytest.raises(NamingError, match=message.replace('(', r'\(').replace('{', r'\{').replace('}', r'\}')):
        Naming('D', **kwargs)


@pytest.mark.parametrize('name', ['', ' D', 'D ', None, 5])
def test_bad_base_name(name):
    with pytest.raises(NamingError, match='name must be a non-empty base name'):
        Naming(name)


def test_dated_name_equal_to_latest_is_refused():
    naming = Naming('D', templates={'latest': '{name} 20261116', 'dated': '{name} {build}'})
    with pytest.raises(NamingError, match='equals the latest name'):
        naming.dated_names([img('a', '2026-11-16T10:00:00Z', build='20261116')])


def test_bad_timestamps():
    with pytest.raises(TimeError, match='no created_at'):
        parse_time(None, 'created_at')
    with pytest.raises(TimeError, match='not an ISO 8601 timestamp'):
        parse_time('yesterday')
