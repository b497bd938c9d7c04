# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""What the daily sync tells users and operators, from what it actually does.

``description``: the ``image_description`` of a release's images in one cloud (boot-tested or
not, how to reproduce Glance's checksum from a compressed ``image_source``).
``change_lines``: a rotation plan in words, the same for a check-mode plan and the real run that
follows it (names, never IDs: the planned candidate has none yet). Pure.
"""

from __future__ import annotations

import datetime

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import compare
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._names import (
    COMPRESSION, COMPRESSIONS, NAMES)

_DECOMPRESS = {'xz': 'xz -dk', 'bz2': 'bzip2 -dk', 'gz': 'gzip -dk'}


class ReportError(ValueError):
    pass


def compression_of(source, options=None):
    """How the upstream file of a release is compressed: its options, else its source's default."""
    options = options or {}
    if options.get('compression'):
        value = str(options['compression'])
    elif source in NAMES:
        value = COMPRESSION.get(source, 'none')
    else:
        raise ReportError('unknown source %r; known: %s' % (source, ', '.join(sorted(NAMES))))
    if value not in COMPRESSIONS:
        raise ReportError('compression must be one of %s, not %r' % (', '.join(COMPRESSIONS), value))
    return value


def boot_tested(boot_test, arch=DEFAULT_ARCH, boot_architectures=None):
    """``(tested, why not)``: a cloud boot-tests only the architectures it can boot
    (``boot_architectures``, None: any)."""
    if not boot_test:
        return False, 'boot tests are off'
    if boot_architectures is not None and arch not in boot_architectures:
        return False, 'this cloud does not boot %s images' % arch
    return True, None


def description(name, boot_test, compression='none', store_raw=False, provider_built=False, note='',
                arch=DEFAULT_ARCH, boot_architectures=None):
    """The image_description of release ``name`` as this cloud's sync makes its images."""
    origin = ('built by the provider, checked against the provider\'s checksum' if provider_built
              else 'unmodified upstream image, checked against the vendor\'s checksum (and signature where signed)')
    tested, why_not = boot_tested(boot_test, arch, boot_architectures)
    tested = ('boot-tested in this cloud as %s before publication' % arch if tested
              else 'not boot-tested in this cloud as %s (%s)' % (arch, why_not))
    text = '%s: %s; %s.' % (name, origin, tested)
    if compression not in COMPRESSIONS:
        raise ReportError('compression must be one of %s, not %r' % (', '.join(COMPRESSIONS), compression))
    if compression != 'none':
        steps = 'decompress it first (%s FILE)' % _DECOMPRESS[compression]
        if store_raw:
            steps += ', then qemu-img convert -O raw the result, then md5sum'
        else:
            steps += ', then md5sum the result (this cloud stores it unconverted)'
        text += (' The file at image_source is %s-compressed: to reproduce Glance\'s checksum, %s.'
                 % (compression, steps))
    if note:
        text += ' ' + str(note).strip()
    return text


def _quoted(name):
    return '"%s"' % name


def change_lines(actions):
    """One line per action of an image_rotate plan that changes something, in plan order."""
    lines = []
    for action in actions or ():
        kind = action.get('action')
        if kind == 'keep':
            continue
        before, after = action.get('before') or {}, action.get('after') or {}
        name = before.get('name')
        if kind in ('delete', 'cleanup', 'deactivate'):
            lines.append('%s %s: %s' % (kind, _quoted(name), action.get('reason')))
            continue
        moves = []
        if after.get('name') != name:
            moves.append('name %s' % _quoted(after.get('name')))
        if after.get('visibility') != before.get('visibility'):
            moves.append(str(after.get('visibility')))
        if bool(after.get('os_hidden')) != bool(before.get('os_hidden')):
            moves.append('hidden' if after.get('os_hidden') else 'listed')
        # The demotion's time mark is implied by "demote", and a plan's clock is not the run's.
        changed = {key: value for key, value in (after.get('properties') or {}).items() if key != _managed.DEMOTED}
        if changed:
            moves.append('properties %s' % ', '.join('%s=%s' % (key, changed[key]) for key in sorted(changed)))
        lines.append('%s %s -> %s (%s)' % (kind, _quoted(name), '; '.join(moves), action.get('reason')))
    return lines


# -- the morning view: one record per queued release, a table, a status file, metrics ----------

OUTCOMES = ('updated', 'rotated', 'up to date', 'planned', 'retired', 'failed')
_DAY = 86400.0


def _when(value):
    """A Glance timestamp or a YYYY-MM-DD date as an aware UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    text = str(value).strip().replace('Z', '+00:00')
    try:
        stamp = datetime.datetime.fromisoformat(text if 'T' in text or ' ' in text else text + 'T00:00:00+00:00')
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)


def _days(later, earlier):
    return None if later is None or earlier is None else round((later - earlier).total_seconds() / _DAY, 1)


def build_report(cloud, queue, statuses, results, now, check_mode=False, previous=None, available=None,
                 not_in_data=None, failure=None):
    """``{'cloud', 'generated_at', 'check_mode', 'releases': [...]}`` of one cloud's run.

    ``queue``: image_sync's queued jobs (``rotate``, ``end_of_support``); ``statuses``: the
    ``releases`` of release_status_info; ``results``: image_sync_results of release.yml;
    ``previous``: the last status file of this cloud, whose ``last_success`` a failed release keeps;
    ``available``: upstream releases this cloud does not carry (release_status_info's ``available``);
    ``not_in_data``: managed images of releases the data does not carry (its ``not_in_data``);
    ``failure``: why this cloud could not be checked at all (then in the report as ``failure``).
    """
    now = _when(now) if not isinstance(now, datetime.datetime) else now
    if now is None:
        raise ReportError('now must be an ISO 8601 time')
    by_key = {entry.get('key'): entry for entry in statuses or ()}
    done = {}
    for entry in results or ():
        done[entry.get('key') or entry.get('release')] = entry
    before = {entry.get('key'): entry for entry in (previous or {}).get('releases', ())}
    records = []
    for job in queue or ():
        rotate = job.get('rotate') or {}
        key, name = rotate.get('release_key'), rotate.get('name')
        status = by_key.get(key) or {}
        result = done.get(key) or done.get(name)
        release = status.get('release') or {}
        existing = status.get('existing') or {}
        retired = bool(status.get('retired', rotate.get('retired')))
        # The current Latest's upload (release_status_info), which a failed release keeps.
        record = {'key': key, 'name': name, 'architecture': (job.get('discover') or {}).get('arch') or DEFAULT_ARCH,
                  'build': release.get('version'), 'build_date': release.get('build_date'),
                  'changes': [], 'failure': None,
                  'latest_since': status.get('latest_since') or existing.get('created_at')}
        if result and result.get('failed'):
            record.update(outcome='failed', failure=result['failed'])
        elif status.get('error') and not result:
            record.update(outcome='failed', failure=status['error'])
        elif retired:
            record['outcome'] = 'retired'
            record['changes'] = list((result or {}).get('changes') or ())
        elif result:
            record['changes'] = list(result.get('changes') or ())
            record['latest_since'] = result.get('latest_since') or record['latest_since']
            if check_mode and record['changes']:
                record['outcome'] = 'planned'
            elif result.get('uploaded') or any(line.startswith('promote ') for line in record['changes']):
                record['outcome'] = 'updated'
            else:
                record['outcome'] = 'rotated' if record['changes'] else 'up to date'
        else:
            record['outcome'] = 'up to date'
        eos = _when(job.get('end_of_support') if job.get('end_of_support') not in (None, 'none') else None)
        record['end_of_support'] = job.get('end_of_support') or 'none'
        record['days_to_end_of_support'] = None if eos is None else (eos.date() - now.date()).days
        record['latest_age_days'] = None if retired else _days(now, _when(record['latest_since']))
        record['upstream_build_age_days'] = _days(now, _when(record['build_date']))
        record['kept_in_use'] = (result or {}).get('kept_in_use') or status.get('kept_in_use') or None
        record['accept_withdrawal'] = rotate.get('accept_withdrawal') or None
        ok = record['outcome'] != 'failed' and not check_mode
        record['last_success'] = now.strftime('%Y-%m-%dT%H:%M:%SZ') if ok else before.get(key, {}).get('last_success')
        records.append(record)
    announced = [{key: item.get(key) for key in ('source', 'release', 'title', 'support_eol')}
                 for item in available or ()]
    report = {'cloud': cloud, 'generated_at': now.strftime('%Y-%m-%dT%H:%M:%SZ'), 'check_mode': bool(check_mode),
              'releases': records, 'available_not_synced': announced, 'not_in_data': list(not_in_data or ())}
    return dict(report, failure=failure) if failure else report


def _count(number, noun):
    return '%d %s%s' % (number, noun, '' if number == 1 else 's')


def kept_text(kept):
    """``3 old builds kept: in use by 7 servers, 2 volumes``."""
    users = [_count(kept[kind], kind[:-1]) for kind in ('servers', 'volumes') if kept.get(kind)]
    return '%s kept: in use by %s' % (_count(kept['builds'], 'old build'), ', '.join(users))


def _cell(value, suffix=''):
    return '-' if value is None else '%s%s' % (value if not isinstance(value, float) else int(value), suffix)


def render_table(report, warn_days=90):
    """The compact per-cloud table: working releases first, then retired, then failed ones apart."""
    # The architecture has a column once a cloud carries more than one.
    arch = len({record.get('architecture', DEFAULT_ARCH) for record in report['releases']}) > 1
    header = ('release',) + ('arch',) * arch + ('build', 'what happened', 'Latest age', 'end of support')
    groups = {'ok': [], 'retired': [], 'failed': []}
    for record in report['releases']:
        happened = record['outcome']
        if record['outcome'] in ('updated', 'rotated', 'planned') and record['changes']:
            happened += ' (%d change%s)' % (len(record['changes']), '' if len(record['changes']) == 1 else 's')
        eos = record['days_to_end_of_support']
        eos_text = '-' if eos is None else ('%d d' % eos if eos >= 0 else 'ended %d d ago' % -eos)
        if eos is not None and 0 <= eos <= warn_days:
            eos_text += ' (soon)'
        row = ((record['name'],) + (record.get('architecture'),) * arch
               + (_cell(record['build']), happened, _cell(record['latest_age_days'], ' d'), eos_text))
        group = 'failed' if record['outcome'] == 'failed' else 'retired' if record['outcome'] == 'retired' else 'ok'
        groups[group].append(row)
    table = [header] + [r for grouped in groups.values() for r in grouped]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]

    def line(row):
        return '  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()

    mode = ' (check mode: the plan)' if report.get('check_mode') else ''
    title = '%s%s, %s' % (report['cloud'], mode, report['generated_at'])
    lines = [title, line(header)] + [line(row) for row in groups['ok']]
    for group, label in (('retired', 'retired (end of support passed)'), ('failed', 'FAILED')):
        if groups[group]:
            lines += ['%s:' % label] + [line(row) for row in groups[group]]
    failures = [record for record in report['releases'] if record['outcome'] == 'failed']
    lines += ['  %s: %s' % (record['name'], record['failure']) for record in failures]
    if report.get('failure'):  # the cloud could not be checked
        lines += ['FAILED:', '  %s' % report['failure']]
    kept = [record for record in report['releases'] if (record.get('kept_in_use') or {}).get('builds')]
    if kept:
        lines += ['kept because in use (deleted once unused):']
        lines += ['  %s: %s' % (record['name'], kept_text(record['kept_in_use'])) for record in kept]
    accepted = [record for record in report['releases'] if record.get('accept_withdrawal')]
    if accepted:
        lines += ['vendor withdrawals accepted (image_sync_accept_withdrawal):']
        lines += ['  %s: %s' % (record['name'], withdrawal_line(record)) for record in accepted]
    announced = report.get('available_not_synced') or ()
    if announced:
        lines += ['available upstream, not synced (add to the data to publish):']
        lines += ['  %s' % (item.get('title') or '%s %s' % (item['source'], item['release'])) for item in announced]
    leftovers = report.get('not_in_data') or ()
    if leftovers:
        lines += ['not in the data (to retire a release, keep it in the data with retired: true):']
        lines += ['  %s' % group['summary'] for group in leftovers]
    return lines


def withdrawal_line(record):
    """``back from 20261207 to 20261206``, and whether upstream is past the withdrawn build."""
    accepted = record['accept_withdrawal']
    text = 'back from %s to %s' % (accepted.get('withdrawn'), accepted.get('back_to'))
    if record.get('build') and compare(record['build'], None, accepted.get('withdrawn'), None) > 0:
        text += '; upstream is past it (%s): remove the entry' % record['build']
    return text


def _label(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


# (metric, type, help, field of a record, seconds per unit of the field; None: a timestamp)
METRICS = (
    ('cloudimages_sync_last_success_timestamp_seconds', 'gauge',
     'Last run that synced or confirmed the release without failure (Unix time).', 'last_success', None),
    ('cloudimages_latest_age_seconds', 'gauge', 'Age of the image currently published as Latest (since its upload).',
     'latest_age_days', _DAY),
    ('cloudimages_upstream_build_age_seconds', 'gauge', "Age of the vendor's newest build (since its build date).",
     'upstream_build_age_days', _DAY),
    ('cloudimages_end_of_support_seconds', 'gauge', 'Time left until the end of support (negative: past).',
     'days_to_end_of_support', _DAY),
)


def _release_labels(cloud, record):
    return 'cloud="%s",release="%s",name="%s",architecture="%s"' % (
        cloud, _label(record['key']), _label(record['name']), _label(record.get('architecture', DEFAULT_ARCH)))


def render_metrics(report):
    """Prometheus text exposition of one cloud's report, for node_exporter's textfile collector."""
    lines = []
    cloud = _label(report['cloud'])
    for metric, kind, text, field, unit in METRICS:
        lines += ['# HELP %s %s' % (metric, text), '# TYPE %s %s' % (metric, kind)]
        for record in report['releases']:
            value = record.get(field)
            if value is None:
                continue
            value = _when(value).timestamp() if unit is None else value * unit
            lines.append('%s{%s} %s' % (metric, _release_labels(cloud, record), repr(float(value))))
    lines += ['# HELP cloudimages_sync_failed 1 when the release failed in the last run.',
              '# TYPE cloudimages_sync_failed gauge']
    lines += ['cloudimages_sync_failed{%s} %d' % (_release_labels(cloud, record), record['outcome'] == 'failed')
              for record in report['releases']]
    lines += ['# HELP cloudimages_upstream_release_available 1 per upstream release the vendor lists and this cloud '
              'does not carry.', '# TYPE cloudimages_upstream_release_available gauge']
    lines += ['cloudimages_upstream_release_available{cloud="%s",source="%s",release="%s"} 1' % (
        cloud, _label(item['source']), _label(item['release'])) for item in report.get('available_not_synced') or ()]
    lines += ['# HELP cloudimages_images_not_in_data Managed images of a release key that no release of the data '
              'carries.', '# TYPE cloudimages_images_not_in_data gauge']
    lines += ['cloudimages_images_not_in_data{cloud="%s",release="%s"} %d' % (
        cloud, _label(group['release_key']), len(group['images'])) for group in report.get('not_in_data') or ()]
    lines += ['# HELP cloudimages_sync_run_timestamp_seconds End of the last run for this cloud (Unix time).',
              '# TYPE cloudimages_sync_run_timestamp_seconds gauge',
              'cloudimages_sync_run_timestamp_seconds{cloud="%s"} %s'
              % (cloud, repr(_when(report['generated_at']).timestamp()))]
    return '\n'.join(lines) + '\n'
