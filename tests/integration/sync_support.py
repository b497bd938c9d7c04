"""Shared by the daily-sync tests: one helper running the daily sync (DailySync), the managed images
of a provider in the local clouds, their removal, the run summary."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from pathlib import Path

import yaml

from playbook_runner import run_playbook
from promtool_check import check_metrics
from sync_inventory import write_inventory

REGIONS = ('RegionOne', 'RegionTwo')
ROLES = Path(__file__).resolve().parents[2] / 'roles'


def shipped(role):
    """The releases a distribution role ships (its defaults), as an operator's inventory would extend them."""
    with open(ROLES / role / 'defaults' / 'main.yml', encoding='utf-8') as handle:
        return yaml.safe_load(handle)['%s_releases' % role]


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


# A run's own options (the rest of DailySync's keywords are write_inventory's).
RUN_OPTIONS = {'limit': None, 'tags': None, 'check': False, 'args': (), 'cache': 'cache', 'timeout': 1800}


class DailySync:
    """``cloudimages.openstack.daily_sync`` for one test: its own provider tag, cache and inventory
    (tools/sync_inventory.py's two clouds) against the local cloud and an upstream mirror.

    ``defaults``: write_inventory's keywords (boot_test, region_one, region_two, extra) and the run's
    (RUN_OPTIONS: --limit, --tags, check mode, more arguments, the cache directory under the workdir,
    timeout). A call overrides them for one run and returns its PlaybookResult. The provider's images
    are removed in both regions by ``close`` (the ``daily_sync`` fixture calls it).
    """

    def __init__(self, cloud, mirror, server, workdir, prefix, **defaults):
        self.cloud, self.mirror, self.server, self.workdir = cloud, mirror, server, workdir
        self.provider = prefix + uuid.uuid4().hex[:8]
        self.defaults = dict(RUN_OPTIONS, **dict({'boot_test': False}, **defaults))
        self._conns = {}

    def _split(self, overrides):
        options = dict(self.defaults, **overrides)
        return {key: options.pop(key) for key in RUN_OPTIONS}, options

    def inventory(self, today=None, mirror=None, server=None, **overrides):
        """Write the inventory of a run (see __call__) and return its path."""
        run, options = self._split(overrides)
        return write_inventory(self.workdir / 'inventory.json', mirror or self.mirror, server or self.server, self.provider,
                               self.workdir / run['cache'], today or self.mirror.today, **options)

    def __call__(self, today=None, mirror=None, server=None, **overrides):
        """Run the daily sync on ``today`` (default: the mirror's day); ``mirror`` and its ``server``
        stand in for the test's mirror in this run."""
        run, _options = self._split(overrides)
        inventory = self.inventory(today, mirror, server, **overrides)
        args = (['--limit', run['limit']] if run['limit'] else []) + (['--tags', run['tags']] if run['tags'] else [])
        return run_playbook('cloudimages.openstack.daily_sync', env=self.cloud.env(), inventory=str(inventory),
                            check=run['check'], timeout=run['timeout'], args=args + list(run['args']))

    def ok(self, today=None, **overrides):
        """A run (see __call__) that must succeed."""
        result = self(today, **overrides)
        assert result.rc == 0, result.output
        return result

    def conn(self, region='RegionOne'):
        if region not in self._conns:
            self._conns[region] = self.cloud.connect('admin', region)
        return self._conns[region]

    def images(self, region='RegionOne'):
        """The provider's managed images in ``region``, whatever their visibility."""
        return managed_images(self.conn(region), self.provider)

    def by_release(self, region='RegionOne'):
        """``{release key: [image, ...]}`` of the provider's images in ``region``."""
        groups = {}
        for image in self.images(region):
            groups.setdefault(image.properties.get('cloudimages_release'), []).append(image)
        return groups

    def status(self, host='region_one'):
        """The morning view of the last run of ``host``: ``(status file, Prometheus textfile)``, when the
        run had ``image_sync_status_dir`` = ``self.status_dir``."""
        base = self.status_dir / ('cloudimages_sync_' + host)
        metrics = base.with_suffix('.prom').read_text()
        check_metrics(metrics)  # promtool's parser and linter
        return json.loads(base.with_suffix('.json').read_text()), metrics

    @property
    def status_dir(self):
        return self.workdir / 'status'

    def close(self):
        delete_managed(self.cloud, self.provider)
