"""run_now: image_sync_today moves the upload's clock forward, never back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _scs
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import TimeError, run_now


def clock():
    return datetime(2026, 12, 7, 12, 57, tzinfo=timezone.utc)


def test_a_later_day_moves_the_clock_to_its_end_an_earlier_one_does_not():
    assert run_now(None, clock) == datetime(2026, 12, 7, 12, 57)
    assert run_now('2026-12-09', clock) == datetime(2026, 12, 9, 23, 59, 59)
    assert run_now('2026-11-16', clock) == datetime(2026, 12, 7, 12, 57)
    with pytest.raises(TimeError, match='today must be a date'):
        run_now('tomorrow', clock)


def test_a_replayed_later_day_accepts_the_builds_of_that_day():
    """A mirror advanced past the real clock dates its builds ahead; image_sync_today makes them current."""
    built = {'image_build_date': '2026-12-09'}
    assert any('in the future' in p for p in _scs.validate(built, mandatory=False, now=run_now(None, clock)))
    assert _scs.validate(built, mandatory=False, now=run_now('2026-12-09', clock)) == []
