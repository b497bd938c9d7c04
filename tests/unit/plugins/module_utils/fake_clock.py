"""A clock for tests of waiting code: it only moves when the code under test sleeps."""

from __future__ import annotations


class Clock:
    """Call it for the time; pass ``sleep`` where the code sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
