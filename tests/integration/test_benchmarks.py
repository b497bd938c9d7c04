"""Every benchmark of benchmarks/ once in smoke mode, so a benchmark that no longer runs fails CI.

Smoke mode is small (few images, one boot, two distributions) and judges no figure: speed is
measured by running the benchmarks themselves (README, "Benchmarks and measured behaviour").
The daily-sync and boot benchmarks use the session's local cloud instead of starting their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'


def smoke(name, *args, env=None, timeout=900):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / name), '--smoke'] + list(args), env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_every_benchmark_has_a_smoke_run_here():
    assert {path.name for path in BENCHMARKS.glob('*.py')} == {
        'boot.py', 'daily_sync.py', 'fetch.py', 'peer.py', 'regions.py', 'rotate.py'}


def test_rotate():
    assert 'planning (best of 1)' in smoke('rotate.py')


def test_fetch():
    out = smoke('fetch.py')
    assert 'peak RSS of the fetch' in out and 'fetch+verify' in out


def test_daily_sync(cloud):
    out = smoke('daily_sync.py', '--stack', str(cloud.stack.layout.base), '--services', cloud.mode)
    # Three clouds (the third is RegionOne under another tag) found up to date on the no-op day.
    assert 'release syncs found up to date in the no-op run: 5' in out, out


def test_peer(cloud):
    out = smoke('peer.py', '--stack', str(cloud.stack.layout.base))
    assert 'no-op     OIM ' in out and 'load average (1 min) during the runs' in out, out


def test_regions(cloud):
    out = smoke('regions.py', '--stack', str(cloud.stack.layout.base))
    assert 'new builds, 1 region(s): controller egress' in out, out


@pytest.mark.needs_nova
def test_boot(booting_cloud):
    out = smoke('boot.py', env=dict(os.environ, **booting_cloud.env()))
    assert 'ubuntu 24.04' in out, out
