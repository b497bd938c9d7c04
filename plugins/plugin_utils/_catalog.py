# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The public image catalog, as the seed pages publish it, built from image_info results.

``build_model`` turns the managed images of each cloud (image_info's shape: Glance names,
custom properties in ``properties``) into one JSON-ready dict: per cloud the current public
images, the community images still kept and why, and a timeline of versions per release.
``render_markdown`` renders that model, the catalog_html filter renders ``html_view`` of it
through a template; as JSON it is the model itself.

Every value shown comes from Glance, where names and properties are user-controlled: the
renderers escape everything, link only http(s) URLs, and the HTML loads nothing external.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import (
    BUILD, DEMOTED, DIGEST, RELEASE,
)

SCHEMA = 1
DEFAULT_TITLE = 'Public image catalog'
# Why a community image is still there (see kept_reason).
IN_USE, RETENTION, UNKNOWN = 'in use', 'retention', 'unknown'

# SCS properties shown per image, by our key in the model.
_SCS = {
    'distribution': 'os_distro', 'version': 'os_version', 'architecture': 'architecture',
    'build_date': 'image_build_date', 'source': 'image_source', 'login_user': 'image_original_user',
    'provided_until': 'provided_until', 'replace_frequency': 'replace_frequency', 'uuid_validity': 'uuid_validity',
}
_GLANCE = ('id', 'name', 'visibility', 'status', 'disk_format', 'size', 'min_disk', 'min_ram')
_DATE = re.compile(r'^([0-9]{4}-[0-9]{2}-[0-9]{2})')
_HEX = re.compile(r'^[0-9a-fA-F]+$')
_WEB = re.compile(r'^https?://[^\s<>"\'`\\]+$', re.I)


class CatalogError(ValueError):
    """Input that cannot make a catalog; the message names the cloud, image or key at fault."""


# ---------------------------------------------------------------- the model

def build_model(clouds, usage=None, provider=None, title=None, generated_at=None):
    """Return the catalog model (a JSON-ready dict) for ``clouds``: cloud name -> list of images.

    ``usage`` maps image id -> ``{servers: n, volumes: n}`` (the daily sync passes what
    image_usage_info found). Without it a kept image's reason is ``unknown``; with it, an image
    used by anything is ``in use``, one with no users is kept by ``retention``, one missing from
    the mapping is ``unknown``.
    """
    if not isinstance(clouds, dict):
        raise CatalogError('clouds must be a mapping of cloud name to its list of images, not %s'
                           % type(clouds).__name__)
    usage = _check_usage(usage)
    built = [_cloud(str(name), images, usage) for name, images in sorted(clouds.items(), key=lambda item: str(item[0]))]
    stamps = [image.get(key) for images in clouds.values() for image in images for key in ('created_at', 'updated_at')]
    stamps = [stamp for stamp in stamps if isinstance(stamp, str) and stamp]
    return {
        'schema': SCHEMA,
        'title': str(title or DEFAULT_TITLE),
        'provider': provider,
        'as_of': max(stamps) if stamps else None,  # newest change seen: the data's own date, not the run's
        'generated_at': generated_at or None,
        'usage_known': usage is not None,
        'clouds': built,
        'totals': {key: sum(cloud['totals'][key] for cloud in built) for key in ('current', 'kept', 'releases')},
    }


def _check_usage(usage):
    if usage is None:
        return None
    if not isinstance(usage, dict):
        raise CatalogError('usage must be a mapping of image id to {servers: n, volumes: n}, not %s'
                           % type(usage).__name__)
    checked = {}
    for image_id, counts in usage.items():
        if not isinstance(counts, dict):
            raise CatalogError('usage of image %s must be a mapping {servers: n, volumes: n}, not %r'
                               % (image_id, counts))
        entry = {}
        for key in ('servers', 'volumes'):
            value = counts.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CatalogError('usage of image %s: %s must be a count (an integer >= 0), not %r'
                                   % (image_id, key, value))
            entry[key] = value
        checked[str(image_id)] = entry
    return checked


def _cloud(name, images, usage):
    if not isinstance(images, list):
        raise CatalogError('cloud %s: images must be a list (the images of image_info), not %s'
                           % (name, type(images).__name__))
    current, kept, candidates = [], [], 0
    for index, image in enumerate(images):
        if not isinstance(image, dict) or not image.get('id'):
            raise CatalogError('cloud %s: image #%d is not an image_info result (a mapping with an id): %r'
                               % (name, index, image))
        if not isinstance(image.get('properties') or {}, dict):
            raise CatalogError('cloud %s: image %s: properties must be a mapping' % (name, image['id']))
        entry = _entry(image)
        # SCS keeps replaced images visible as public + os_hidden; ours become community, or stay public
        # and listed (previous_visibility public) with the demotion mark.
        if entry['visibility'] == 'public' and not entry['hidden'] and DEMOTED not in (image.get('properties') or {}):
            current.append(entry)
        elif entry['visibility'] in ('public', 'community'):
            entry['kept_because'], entry['usage'] = kept_reason(entry['id'], usage)
            kept.append(entry)
        else:
            candidates += 1  # private (not yet promoted) or shared: not part of the public catalog
    order = _order_key
    current.sort(key=order)
    kept.sort(key=order)
    releases = _releases(current, kept)
    return {
        'name': name, 'current': current, 'kept': kept, 'releases': releases,
        'totals': {'current': len(current), 'kept': len(kept), 'releases': len(releases), 'not_published': candidates},
    }


def _entry(image):
    props = image.get('properties') or {}
    entry = {key: image.get(key) for key in _GLANCE}
    entry['name'] = str(entry['name'] or '')
    entry['hidden'] = bool(image.get('os_hidden'))
    entry['uploaded'] = image.get('created_at')
    entry['release'] = str(props.get(RELEASE) or _fallback_release(props))
    entry['build'] = _text(props.get(BUILD))
    entry['upstream_digest'] = _text(props.get(DIGEST))
    entry.update({key: _text(props.get(prop)) for key, prop in _SCS.items()})
    checksums = {}
    if image.get('checksum'):
        checksums['md5'] = str(image['checksum'])
    if image.get('os_hash_algo') and image.get('os_hash_value'):
        checksums[str(image['os_hash_algo'])] = str(image['os_hash_value'])
    entry['checksums'] = checksums
    return entry


def _fallback_release(props):
    """Unmanaged or half-tagged images still group by what SCS properties say."""
    if props.get('os_distro') and props.get('os_version'):
        return '%s-%s' % (props['os_distro'], props['os_version'])
    return 'unknown'


def _text(value):
    return None if value is None or value == '' else str(value)


def kept_reason(image_id, usage):
    """(reason, counts) for a kept image given the usage mapping (None: usage not looked up)."""
    if usage is None or image_id not in usage:
        return UNKNOWN, None
    counts = usage[image_id]
    return (IN_USE if counts['servers'] or counts['volumes'] else RETENTION), dict(counts)


def _order_key(entry):
    return (natural_key(entry['release']), entry['uploaded'] or '', entry['name'], entry['id'])


def natural_key(text):
    """Sort "9" before "10" and "22.04" before "24.04"; ints and strings never compared together."""
    # [0-9], not \d: int() refuses some Unicode digits (e.g. superscripts) that \d matches.
    parts = (part for part in re.split(r'([0-9]+)', str(text)) if part)
    return tuple((0, int(part), '') if part[0] in '0123456789' else (1, 0, part) for part in parts)


def _releases(current, kept):
    groups = {}
    for entry in current + kept:
        groups.setdefault(entry['release'], []).append(entry)
    current_ids = {entry['id'] for entry in current}
    releases = []
    for key in sorted(groups, key=natural_key):
        versions = sorted(groups[key], key=lambda e: (e['uploaded'] or '', natural_key(e['build'] or ''), e['id']))
        newest = ([e for e in versions if e['id'] in current_ids] or versions)[-1]
        timeline = []
        for index, entry in enumerate(versions):
            following = versions[index + 1] if index + 1 < len(versions) else None
            timeline.append({
                'id': entry['id'], 'name': entry['name'], 'build': entry['build'],
                'build_date': entry['build_date'], 'uploaded': entry['uploaded'],
                # A version was the newest from its upload until the next one's.
                'replaced': following['uploaded'] if following and entry['id'] not in current_ids else None,
                'state': 'current' if entry['id'] in current_ids else 'kept',
            })
        releases.append({
            'key': key, 'distribution': newest['distribution'], 'version': newest['version'],
            'provided_until': newest['provided_until'],
            'current': [e['name'] for e in versions if e['id'] in current_ids],
            'timeline': timeline,
        })
    return releases


def check_model(model, caller):
    if not isinstance(model, dict) or model.get('schema') != SCHEMA or not isinstance(model.get('clouds'), list):
        raise CatalogError('%s renders the result of catalog_model (schema %d), not %r'
                           % (caller, SCHEMA, type(model).__name__))


def day(value):
    """The date of an ISO timestamp or SCS build date, or None when it is not one."""
    match = _DATE.match(value or '') if isinstance(value, str) else None
    if not match:
        return None
    try:
        return datetime.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def ages(model, today, warn_days=90):
    """Per current image: its age and the days left to its end of support, with a warning when few.

    ``today`` is an ISO date or timestamp (the report's own date). Returns one dict per current
    image, ``{cloud, name, id, age_days, days_to_end_of_support, warning}``, oldest first.
    """
    check_model(model, 'catalog_ages')
    now = day(today)
    if now is None:
        raise CatalogError('catalog_ages needs today as an ISO date, not %r' % (today,))
    found = []
    for cloud in model['clouds']:
        for entry in cloud['current']:
            uploaded, ends = day(entry['uploaded']), day(entry['provided_until'])
            left, warning = None, None
            if ends:
                left = (ends - now).days
                if left < 0:
                    warning = 'end of support passed %d days ago' % -left
                elif left <= warn_days:
                    warning = 'end of support in %d days' % left
            found.append({'cloud': cloud['name'], 'name': entry['name'], 'id': entry['id'],
                          'age_days': (now - uploaded).days if uploaded else None,
                          'days_to_end_of_support': left, 'warning': warning})
    return sorted(found, key=lambda item: (-(item['age_days'] or 0), item['cloud'], item['name']))


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r'([\\`*_\[\]<>|~&#!])')


def md(value):
    """Markdown-safe inline text: punctuation that could start markup or HTML is backslash-escaped."""
    if value is None or value == '':
        return '—'
    return _MD_SPECIAL.sub(r'\\\1', re.sub(r'\s+', ' ', str(value)).strip())


def _md_link(url):
    return '<%s>' % url if url and _WEB.match(url) else md(url)


def _md_digests(checksums):
    return '<br>'.join('%s `%s`' % (md(algo), digest) if _HEX.match(digest) else '%s %s' % (md(algo), md(digest))
                       for algo, digest in sorted(checksums.items())) or '—'


def _md_row(cells):
    return '| ' + ' | '.join(cells) + ' |'


def render_markdown(model):
    check_model(model, 'catalog_markdown')
    out = ['# %s' % md(model['title']), '']
    out.append(' · '.join(part for part in (
        'Provider: %s' % md(model['provider']) if model.get('provider') else '',
        'Images as of %s' % md(model['as_of']) if model.get('as_of') else '',
        'Generated %s' % md(model['generated_at']) if model.get('generated_at') else '',
    ) if part) or 'No images.')
    out.append('')
    for cloud in model['clouds']:
        out += ['## Cloud %s' % md(cloud['name']), '', '### Current public images', '']
        if cloud['current']:
            out.append(_md_row(['Name', 'Distribution', 'Version', 'Architecture', 'Build', 'Build date', 'Uploaded',
                                'Source', 'Checksums', 'End of support']))
            out.append(_md_row(['---'] * 10))
            for e in cloud['current']:
                out.append(_md_row([md(e['name']), md(e['distribution']), md(e['version']), md(e['architecture']),
                                    md(e['build']),
                                    md(e['build_date']), md(e['uploaded']), _md_link(e['source']),
                                    _md_digests(e['checksums']), md(e['provided_until'])]))
        else:
            out.append('None.')
        out += ['', '### Community images still kept', '']
        if cloud['kept']:
            out.append(_md_row(['Name', 'Release', 'Build', 'Uploaded', 'Kept because', 'Servers', 'Volumes']))
            out.append(_md_row(['---'] * 7))
            for e in cloud['kept']:
                counts = e['usage'] or {}
                out.append(_md_row([md(e['name']), md(e['release']), md(e['build']), md(e['uploaded']),
                                    md(e['kept_because']), md(counts.get('servers')), md(counts.get('volumes'))]))
            if not model['usage_known']:
                out += ['', '"unknown": usage was not looked up for this report.']
        else:
            out.append('None.')
        out += ['', '### Versions per release', '']
        for release in cloud['releases']:
            steps = ['%s (%s, %s)' % (md(t['build'] or t['name']), md(t['uploaded']), t['state'])
                     for t in release['timeline']]
            out.append('- **%s**: %s' % (md(release['key']), ' → '.join(steps)))
        if not cloud['releases']:
            out.append('None.')
        out.append('')
    return '\n'.join(out).rstrip('\n') + '\n'


# ---------------------------------------------------------------- HTML

def html_view(model):
    """What the page template (templates/catalog_html.j2) shows: the model plus plain drawing data.

    No markup here: the template writes it, autoescaped, so no value can become markup.
    """
    check_model(model, 'catalog_html')
    span = _span(model)
    clouds = []
    for number, cloud in enumerate(model['clouds'], 1):
        clouds.append({
            'number': number, 'name': cloud['name'], 'totals': cloud['totals'],
            'current': [_html_row(entry) for entry in cloud['current']],
            'kept': [_html_row(entry) for entry in cloud['kept']],
            'timelines': [_timeline(release, span) for release in cloud['releases']] if span else [],
        })
    return {'title': model['title'], 'provider': model.get('provider'), 'as_of': model.get('as_of'),
            'generated_at': model.get('generated_at'), 'usage_known': model['usage_known'], 'clouds': clouds}


def _html_row(entry):
    counts = entry.get('usage') or {}
    source = entry['source']
    return dict(entry, search=_search_text(entry), link=bool(source and _WEB.match(source)),
                servers=counts.get('servers'), volumes=counts.get('volumes'),
                checksums=sorted(entry['checksums'].items()), reason_class=_css_token(entry.get('kept_because')))


def _css_token(value):
    """A value used in ``class=``: one class name of letters, digits and dashes (a model is any JSON)."""
    return re.sub(r'[^A-Za-z0-9_-]+', '-', str(value)).strip('-') or 'none'


def _search_text(entry):
    values = (entry['name'], entry['release'], entry['distribution'], entry['version'], entry['build'], entry['id'])
    return ' '.join(str(v) for v in values if v).lower()


def _span(model):
    """First and last day of every timeline on the page, so releases compare on one scale."""
    days = [day(t[key]) for cloud in model['clouds'] for release in cloud['releases'] for t in release['timeline']
            for key in ('uploaded', 'build_date', 'replaced')]
    days = [d for d in days + [day(model.get('as_of'))] if d]
    if not days:
        return None
    start, end = min(days), max(days)
    return start, max(end, start + datetime.timedelta(days=1))


WIDTH, _LABEL, _ROW = 1000, 190, 24


def _timeline(release, span):
    """One bar per version, from its upload until the next version's (or the end), on a shared scale."""
    start, end = span
    scale = (WIDTH - _LABEL - 20) / float((end - start).days)

    def x(date):
        return round(_LABEL + (date - start).days * scale, 1)
    height = 30 + _ROW * len(release['timeline'])
    ticks = 5 if (end - start).days >= 5 else 1
    tick_days = [start + datetime.timedelta(days=round((end - start).days * tick / ticks)) for tick in range(ticks + 1)]
    versions = []
    for row, t in enumerate(release['timeline']):
        first, built = day(t['uploaded']) or day(t['build_date']), day(t['build_date'])
        last = day(t['replaced']) or end
        versions.append(dict(
            t, y=6 + row * _ROW, state_class=_css_token(t['state']), label=(t['build'] or t['name'])[:28],
            bar=(x(first), round(max(x(last) - x(first), 3), 1)) if first else None,
            built_x=x(built) if built else None,
            title='%s: uploaded %s, built %s, %s' % (
                t['name'], t['uploaded'] or 'unknown', t['build_date'] or 'unknown',
                'current' if t['state'] == 'current' else 'replaced %s' % (t['replaced'] or 'unknown'))))
    return {
        'key': release['key'], 'provided_until': release['provided_until'], 'height': height,
        'axis': (_LABEL, height - 18, WIDTH - 20), 'versions': versions,
        'ticks': [(x(tick_day), 'start' if n == 0 else 'end' if n == ticks else 'middle', tick_day.isoformat())
                  for n, tick_day in enumerate(tick_days)],
    }
