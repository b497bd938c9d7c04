"""The rollback guard's comparison of two builds of one release (_build_order)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import (
    compare, image_build, release_older,
)

# (older, newer) builds of one release, as each family names them: (version, build_date).
FAMILIES = {
    'ubuntu': (('20261102', '2026-11-02'), ('20261116', '2026-11-16')),
    'ubuntu respin': (('20261116', '2026-11-16'), ('20261116.1', '2026-11-16')),
    'debian': (('20261115-2310', '2026-11-15'), ('20261116-2399', '2026-11-16')),
    'rocky minor': (('9.9-20261019.0', '2026-10-19'), ('9.10-20261102.0', '2026-11-02')),
    'almalinux': (('9.6-20250522', '2025-05-22'), ('9.7-20251118', '2025-11-18')),
    'fedora respin': (('44-1.6', '2026-04-20'), ('44-1.7', '2026-04-21')),
    'fcos': (('43.20261019.3.0', '2026-10-19'), ('44.20261102.3.0', '2026-11-02')),
    'fcos same-day respin': (('44.20261116.3.0', '2026-11-16'), ('44.20261116.3.1', '2026-11-16')),
    'flatcar': (('4459.2.1', '2026-11-02'), ('4487.1.0', '2026-11-16')),
    'cirros': (('0.6.9', '2026-01-10'), ('0.6.10', '2026-06-01')),
}


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_each_family_orders_its_builds(family):
    old, new = FAMILIES[family]
    assert compare(*old, *new) == -1 and compare(*new, *old) == 1
    assert compare(*new, *new) == 0


def test_replayed_flatcar_index_with_a_fresh_last_modified_is_still_older():
    # version.txt's date is its HTTP Last-Modified, which a mirror sets at will: the version decides.
    assert compare('4459.2.1', '2026-11-20', '4487.1.0', '2026-11-16') == -1


def test_same_version_the_date_breaks_the_tie():
    assert compare('44-1.7', '2026-04-20', '44-1.7', '2026-04-21') == -1


def test_free_text_versions_are_ordered_by_date_only():
    # Provider builds (git ids, names) have no order of their own.
    assert compare('0f9e8d7', '2026-11-16', 'a1b2c3d', '2026-11-10') == 1
    assert compare('a1b2c3d', '2026-11-10', '0f9e8d7', '2026-11-16') == -1
    assert compare('build-b', '2026-11-16', 'build-a', '2026-11-16') == 0


def test_unknown_dates_and_versions_never_refuse():
    assert compare('x', None, 'y', None) == 0
    assert compare(None, None, '20261116', '2026-11-16') == 0
    assert compare('20261102', None, '20261116', None) == -1  # versions alone still decide


def test_scs_date_formats_of_glance():
    assert compare('abc', '2026-11-16 10:00', 'abd', '2026-11-17T01:00:00Z') == -1
    assert compare('abc', 'garbage', 'abd', '2026-11-17') == 0


def test_release_and_image_views():
    day1 = {'version': '20261102', 'build_date': '2026-11-02'}
    day2 = {'version': '20261116', 'build_date': '2026-11-16'}
    assert release_older(day1, day2) and not release_older(day2, day1) and not release_older(day2, dict(day2))
    image = {'properties': {'cloudimages_build': '20261116', 'image_build_date': '2026-11-16'}}
    assert image_build(image) == ('20261116', '2026-11-16')
    assert image_build({}) == (None, None)
