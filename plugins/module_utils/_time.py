# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The one reader of the timestamps Glance, Nova and the modules' options give."""

from __future__ import annotations

from datetime import date, datetime, time, timezone


class TimeError(ValueError):
    """Not an ISO 8601 timestamp."""


def parse_time(value, what='timestamp'):
    """``2026-11-23T08:00:00Z`` (fractions and offsets too; none means UTC) as an aware UTC datetime."""
    if isinstance(value, datetime):
        stamp = value
    else:
        text = str(value or '').strip()
        if not text:
            raise TimeError('no %s' % what)
        try:
            stamp = datetime.fromisoformat(text[:-1] + '+00:00' if text.endswith('Z') else text)
        except ValueError:
            raise TimeError('%s is not an ISO 8601 timestamp: %r' % (what, value)) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)


def utcnow():
    return datetime.now(timezone.utc)


def run_now(today=None, clock=utcnow):
    """UTC now (naive, as SCS build dates are read), or the end of ``today`` (YYYY-MM-DD) when that is later.

    A run replayed on a later day moves the clock forward only: an earlier day never makes
    today's builds look dated in the future.
    """
    now = clock().replace(tzinfo=None)
    if not today:
        return now
    try:
        end = datetime.combine(date.fromisoformat(str(today)), time(23, 59, 59))
    except ValueError:
        raise TimeError('today must be a date YYYY-MM-DD, not %r' % (today,)) from None
    return max(now, end)
