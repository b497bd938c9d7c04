# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Planning time of image_rotate for 2,000 managed images in one release group (target < 1 s).

Usage: python benchmarks/rotate.py [--images N] [--repeat R] [--smoke]

--smoke (CI): 200 images, one run, and the target is not judged, so CI fails only when it no longer runs.

Prints the best of R runs of the full planner (naming, collision numbering, retention, usage,
cleanup) with the usage lookup already done, and a baseline measured in the same run: parsing
the timestamps and sorting the group, the least any planner has to do.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWNER = 'bench-project'  # the provider's project: identity includes the owner


def importable():
    """Make the working tree importable as ansible_collections.cloudimages.openstack (as tests/conftest.py does)."""
    farm = Path(tempfile.mkdtemp(prefix='cloudimages-bench-'))
    (farm / 'ansible_collections' / 'cloudimages').mkdir(parents=True)
    os.symlink(ROOT, farm / 'ansible_collections' / 'cloudimages' / 'openstack')
    sys.path.insert(0, str(farm))


def group(count):
    images = []
    for index in range(count):
        day, hour = divmod(index, 3)  # three builds a day: plenty of (2), (3) collisions
        created = '20%02d-%02d-%02dT%02d:00:00Z' % (20 + day // 336, 1 + (day // 28) % 12, 1 + day % 28, 6 * hour)
        images.append({
            'id': 'image-%05d' % index, 'name': 'Ubuntu 24.04 - Latest' if index % 97 == 0 else 'old %d' % index,
            'status': 'active' if index % 11 else 'deactivated', 'visibility': 'public' if index % 5 == 0 else 'community',
            'os_hidden': False, 'protected': index % 301 == 0, 'tags': ['managed_by_bench'], 'created_at': created,
            'owner': OWNER,
            'properties': {'cloudimages_release': 'ubuntu-24.04', 'cloudimages_build': str(index),
                           'cloudimages_digest': 'sha256:%064x' % index, 'hw_disk_bus': 'virtio',
                           'uuid_validity': 'last-3' if index % 7 == 0 else 'none'},
        })
    return images


def best(func, repeat):
    times = []
    for _run in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=2000)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--smoke', action='store_true', help='a quick run that proves the benchmark still runs (CI)')
    args = parser.parse_args()
    if args.smoke:
        args.images, args.repeat = 200, 1
    importable()
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate import _naming, _rotation
    parse_time, Policy, plan = _naming.parse_time, _rotation.Policy, _rotation.plan

    images = group(args.images)
    policy = Policy('bench', 'ubuntu-24.04', 'Ubuntu 24.04', keep=3, min_age_days=7, delete_unused=True,
                    properties={'hw_disk_bus': 'scsi', 'replace_frequency': 'quarterly'}, owners=[OWNER])
    now = '2030-01-01T00:00:00Z'
    first = plan(images, policy, now)
    usage = {'complete': True, 'reason': None,
             'images': {i: {'servers': [{'id': 's', 'name': 's', 'project_id': 'p', 'status': 'SHELVED'}] if n % 3 == 0 else [],
                            'volumes': []} for n, i in enumerate(first.usage_needed)}}
    result = plan(images, policy, now, usage)
    planning = best(lambda: plan(images, policy, now, usage), args.repeat)
    baseline = best(lambda: sorted(images, key=lambda i: (parse_time(i['created_at']), i['id'])), args.repeat)
    counts = {}
    for action in result.actions:
        counts[action['action']] = counts.get(action['action'], 0) + 1
    print('images in group        %d' % args.images)
    print('actions planned        %s' % ', '.join('%s %d' % item for item in sorted(counts.items())))
    print('planning (best of %d)   %.3f s   target < 1 s: %s' % (args.repeat, planning, 'met' if planning < 1 else 'MISSED'))
    print('baseline parse + sort  %.3f s   planning / baseline = %.1f' % (baseline, planning / baseline))
    if not result.actions:
        sys.exit('the planner planned nothing: the benchmark no longer measures planning')
    return 0 if planning < 1 or args.smoke else 1


if __name__ == '__main__':
    sys.exit(main())
