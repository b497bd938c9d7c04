"""Shared by the daily-sync tests: the managed images of a provider in the local clouds, their removal, the run summary."""

from __future__ import annotations

import contextlib
import json
import re

REGIONS = ('RegionOne', 'RegionTwo')


def managed_images(conn, provider):
    """Every image of the provider tag, whatever its visibility (community needs its own query)."""
    seen = {}
    for visibility in ('public', 'community', 'private', 'shared'):
        for image in conn.image.images(tag=['managed_by_' + provider], visibility=visibility):
            seen[image.id] = image
    return list(seen.values())


def delete_managed(cloud, provider):
    """Teardown: remove every image of ``provider`` in both regions."""
    for region in REGIONS:
        conn = cloud.connect('admin', region)
        for image in managed_images(conn, provider):
            conn.image.delete_image(image, ignore_missing=True)


@contextlib.contextmanager
def served(cloud, mirror, provider):
    """Serve ``mirror`` (a test's own, tools/upstream_mirror) for one test; afterwards remove every
    image of ``provider`` in both regions and the mirror. Yields the MirrorServer."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    try:
        with MirrorServer(mirror) as server:
            yield server
    finally:
        delete_managed(cloud, provider)
        mirror.close()


def summary(result, host):
    """The run summary of ``host`` (playbooks/daily_sync.yml's "Summary of this cloud"), read back from the output."""
    task = result.output.index('TASK [Summary of this cloud]')
    match = re.compile(r'^ok: \[%s\] => (\{\n.*?\n\})$' % re.escape(host), re.M | re.S).search(result.output, task)
    assert match, result.output
    return json.loads(match[1])['msg']


def summaries(output):
    """``{host: msg}`` of the daily sync's "Summary of this cloud" task in ansible-playbook's output."""
    start = output.index('TASK [Summary of this cloud]')
    end = min(at for at in (output.find('\nTASK [', start + 1), output.find('\nPLAY RECAP', start), len(output)) if at >= 0)
    section = output[start:end]
    decoder, found = json.JSONDecoder(), {}
    for match in re.finditer(r'^ok: \[(?P<host>[^\]]+)\] => ', section, re.M):
        found[match['host']] = decoder.raw_decode(section, match.end())[0]['msg']
    return found
