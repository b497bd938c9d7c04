# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The public image catalog, as the seed pages publish it, built from image_info results.

``build_model`` turns the managed images of each cloud (image_info's shape: Glance names,
custom properties in ``properties``) into one JSON-ready dict: per cloud the current public
images, the community images still kept and why, and a timeline of versions per release.
``render_markdown`` and ``render_html`` render that model; as JSON it is the model itself.

Every value shown comes from Glance, where names and properties are user-controlled: the
renderers escape everything, link only http(s) URLs, and the HTML loads nothing external.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import re

from ansible_collections.cloudimages.openstack.plugins.module_utils._managed import BUILD, DIGEST, RELEASE

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
        raise CatalogError('clouds must be a mapping of cloud name to its list of images, not %s' % type(clouds).__name__)
    usage = _check_usage(usage)
    built = [_cloud(str(name), images, usage) for name, images in sorted(clouds.items(), key=lambda item: str(item[0]))]
    stamps = [image.get(key) for name, images in clouds.items() for image in images for key in ('created_at', 'updated_at')]
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
        raise CatalogError('usage must be a mapping of image id to {servers: n, volumes: n}, not %s' % type(usage).__name__)
    checked = {}
    for image_id, counts in usage.items():
        if not isinstance(counts, dict):
            raise CatalogError('usage of image %s must be a mapping {servers: n, volumes: n}, not %r' % (image_id, counts))
        entry = {}
        for key in ('servers', 'volumes'):
            value = counts.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CatalogError('usage of image %s: %s must be a count (an integer >= 0), not %r' % (image_id, key, value))
            entry[key] = value
        checked[str(image_id)] = entry
    return checked


def _cloud(name, images, usage):
    if not isinstance(images, list):
        raise CatalogError('cloud %s: images must be a list (the images of image_info), not %s' % (name, type(images).__name__))
    current, kept, candidates = [], [], 0
    for index, image in enumerate(images):
        if not isinstance(image, dict) or not image.get('id'):
            raise CatalogError('cloud %s: image #%d is not an image_info result (a mapping with an id): %r' % (name, index, image))
        if not isinstance(image.get('properties') or {}, dict):
            raise CatalogError('cloud %s: image %s: properties must be a mapping' % (name, image['id']))
        entry = _entry(image)
        # SCS keeps replaced images visible as public + os_hidden; ours become community.
        if entry['visibility'] == 'public' and not entry['hidden']:
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
    return tuple((0, int(part), '') if part[0] in '0123456789' else (1, 0, part) for part in re.split(r'([0-9]+)', str(text)) if part)


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
            'provided_until': newest['provided_until'], 'current': [e['name'] for e in versions if e['id'] in current_ids],
            'timeline': timeline,
        })
    return releases


def check_model(model, caller):
    if not isinstance(model, dict) or model.get('schema') != SCHEMA or not isinstance(model.get('clouds'), list):
        raise CatalogError('%s renders the result of catalog_model (schema %d), not %r' % (caller, SCHEMA, type(model).__name__))


def day(value):
    """The date of an ISO timestamp or SCS build date, or None when it is not one."""
    match = _DATE.match(value or '') if isinstance(value, str) else None
    if not match:
        return None
    try:
        return datetime.date.fromisoformat(match.group(1))
    except ValueError:
        return None


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
            out.append(_md_row(['Name', 'Distribution', 'Version', 'Build', 'Build date', 'Uploaded', 'Source', 'Checksums', 'End of support']))
            out.append(_md_row(['---'] * 9))
            for e in cloud['current']:
                out.append(_md_row([md(e['name']), md(e['distribution']), md(e['version']), md(e['build']), md(e['build_date']),
                                    md(e['uploaded']), _md_link(e['source']), _md_digests(e['checksums']), md(e['provided_until'])]))
        else:
            out.append('None.')
        out += ['', '### Community images still kept', '']
        if cloud['kept']:
            out.append(_md_row(['Name', 'Release', 'Build', 'Uploaded', 'Kept because', 'Servers', 'Volumes']))
            out.append(_md_row(['---'] * 7))
            for e in cloud['kept']:
                counts = e['usage'] or {}
                out.append(_md_row([md(e['name']), md(e['release']), md(e['build']), md(e['uploaded']), md(e['kept_because']),
                                    md(counts.get('servers')), md(counts.get('volumes'))]))
            if not model['usage_known']:
                out += ['', '"unknown": usage was not looked up for this report.']
        else:
            out.append('None.')
        out += ['', '### Versions per release', '']
        for release in cloud['releases']:
            steps = ['%s (%s, %s)' % (md(t['build'] or t['name']), md(t['uploaded']), t['state']) for t in release['timeline']]
            out.append('- **%s**: %s' % (md(release['key']), ' → '.join(steps)))
        if not cloud['releases']:
            out.append('None.')
        out.append('')
    return '\n'.join(out).rstrip('\n') + '\n'


# ---------------------------------------------------------------- HTML

def esc(value):
    return html.escape('—' if value is None or value == '' else str(value), quote=True)


_STYLE = """
:root { color-scheme: light; --line: #d0d7de; --muted: #57606a; --current: #1a7f37; --kept: #8c959f; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1240px;
       padding: 1rem 1.5rem 3rem; color: #1f2328; background: #fff; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid var(--line); padding-bottom: .2rem; margin-top: 2.5rem; }
.meta, figcaption, .note { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: 13px; }
caption { text-align: left; font-weight: 600; font-size: 1.15em; padding: .6rem 0 .4rem; }
th, td { border: 1px solid var(--line); padding: .3rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
code { font-size: 11px; word-break: break-all; }
.reason-in-use { color: #9a6700; font-weight: 600; } .reason-retention { color: var(--muted); }
svg { width: 100%; height: auto; background: #fbfcfd; border: 1px solid var(--line); }
svg text { font: 11px system-ui, sans-serif; fill: #1f2328; }
svg .axis { stroke: var(--line); } svg .current rect { fill: var(--current); } svg .kept rect { fill: var(--kept); }
svg .built { fill: #0969da; }
figure { margin: 0 0 1.5rem; }
#filter-box { margin: 1rem 0; } #filter-box input { font: inherit; padding: .25rem .4rem; width: 22rem; }
"""

# Filters the tables by text; #filter=<text> in the address pre-fills it. The page is complete without it.
_SCRIPT = """
(function () {
  var box = document.getElementById('filter-box'), input = document.getElementById('filter'), out = document.getElementById('shown');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr[data-search]'));
  function apply() {
    var term = input.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      var hit = !term || row.getAttribute('data-search').indexOf(term) !== -1;
      row.hidden = !hit; if (hit) { shown += 1; }
    });
    out.textContent = shown + ' of ' + rows.length + ' images shown';
  }
  var match = /^#filter=(.*)$/.exec(window.location.hash);
  if (match) { try { input.value = decodeURIComponent(match[1]); } catch (e) { input.value = ''; } }
  input.addEventListener('input', apply);
  box.hidden = false;
  apply();
}());
"""


def _css_token(value):
    """A value used in ``class=``: one class name of letters, digits and dashes, never markup."""
    return re.sub(r'[^A-Za-z0-9_-]+', '-', str(value)).strip('-') or 'none'


def _csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode('ascii')


# Nothing may load: no network, no other file; only our own style and script run.
CSP = "default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (
    _csp_hash(_STYLE), _csp_hash(_SCRIPT))


def _search_text(entry):
    return ' '.join(str(v) for v in (entry['name'], entry['release'], entry['distribution'], entry['version'], entry['build'], entry['id']) if v).lower()


def _html_link(url):
    if url and _WEB.match(url):
        return '<a href="%s" rel="noopener noreferrer">%s</a>' % (esc(url), esc(url))
    return esc(url)


def _html_digests(checksums):
    return '<br>'.join('%s <code>%s</code>' % (esc(algo), esc(digest)) for algo, digest in sorted(checksums.items())) or esc(None)


def _html_current(cloud, number):
    rows = []
    for e in cloud['current']:
        rows.append(
            '<tr data-image-id="%s" data-search="%s"><th scope="row">%s</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
            '<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                esc(e['id']), esc(_search_text(e)), esc(e['name']), esc(e['distribution']), esc(e['version']), esc(e['build']),
                esc(e['build_date']), esc(e['uploaded']), _html_link(e['source']), _html_digests(e['checksums']), esc(e['provided_until'])))
    if not rows:
        return '<p class="note">No current public images.</p>'
    return (
        '<table class="current" id="current-%d"><caption>Current public images (%d)</caption><thead><tr>'
        '<th scope="col">Name</th><th scope="col">Distribution</th><th scope="col">Version</th><th scope="col">Build</th>'
        '<th scope="col">Build date</th><th scope="col">Uploaded</th><th scope="col">Upstream source</th>'
        '<th scope="col">Checksums</th><th scope="col">End of support</th></tr></thead><tbody>%s</tbody></table>'
        % (number, len(rows), '\n'.join(rows)))


def _html_kept(cloud, number, usage_known):
    rows = []
    for e in cloud['kept']:
        counts = e['usage'] or {}
        rows.append(
            '<tr data-image-id="%s" data-search="%s"><th scope="row">%s</th><td>%s</td><td>%s</td><td>%s</td>'
            '<td class="reason-%s">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                esc(e['id']), esc(_search_text(e)), esc(e['name']), esc(e['release']), esc(e['build']), esc(e['uploaded']),
                _css_token(e['kept_because']), esc(e['kept_because']), esc(counts.get('servers')), esc(counts.get('volumes')),
                _html_digests(e['checksums'])))
    if not rows:
        return '<p class="note">No community images kept.</p>'
    note = '' if usage_known else '<p class="note">"unknown": usage was not looked up for this report.</p>'
    return (
        '<table class="kept" id="kept-%d"><caption>Community images still kept (%d)</caption><thead><tr>'
        '<th scope="col">Name</th><th scope="col">Release</th><th scope="col">Build</th><th scope="col">Uploaded</th>'
        '<th scope="col">Kept because</th><th scope="col">Servers</th><th scope="col">Volumes</th><th scope="col">Checksums</th>'
        '</tr></thead><tbody>%s</tbody></table>%s' % (number, len(rows), '\n'.join(rows), note))


def _span(model):
    """First and last day of every timeline on the page, so releases compare on one scale."""
    days = [day(t[key]) for cloud in model['clouds'] for release in cloud['releases'] for t in release['timeline']
            for key in ('uploaded', 'build_date', 'replaced')]
    days = [d for d in days + [day(model.get('as_of'))] if d]
    if not days:
        return None
    start, end = min(days), max(days)
    return start, max(end, start + datetime.timedelta(days=1))


_W, _LABEL, _ROW = 1000, 190, 24


def _html_timeline(release, span):
    """An inline SVG: one bar per version, from its upload until the next version's (or now)."""
    start, end = span
    scale = (_W - _LABEL - 20) / float((end - start).days)

    def x(date):
        return _LABEL + (date - start).days * scale
    height = 30 + _ROW * len(release['timeline'])
    parts = ['<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (_LABEL, height - 18, _W - 20, height - 18)]
    ticks = 5 if (end - start).days >= 5 else 1
    for tick in range(ticks + 1):
        tick_day = start + datetime.timedelta(days=round((end - start).days * tick / ticks))
        anchor = 'start' if tick == 0 else 'end' if tick == ticks else 'middle'
        parts.append('<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>' % (x(tick_day), height - 4, anchor, tick_day.isoformat()))
    items = []
    for row, t in enumerate(release['timeline']):
        y = 6 + row * _ROW
        first = day(t['uploaded']) or day(t['build_date'])
        last = day(t['replaced']) or end
        label = t['build'] or t['name']
        title = '%s: uploaded %s, built %s, %s' % (t['name'], t['uploaded'] or 'unknown', t['build_date'] or 'unknown',
                                                   'current' if t['state'] == 'current' else 'replaced %s' % (t['replaced'] or 'unknown'))
        shape = ''
        if first:
            shape = '<rect x="%.1f" y="%d" width="%.1f" height="16" rx="3"/>' % (x(first), y, max(x(last) - x(first), 3))
        built = day(t['build_date'])
        if built:
            shape += '<circle class="built" cx="%.1f" cy="%d" r="4"/>' % (x(built), y + 8)
        parts.append('<g class="version %s" data-build="%s" data-image-id="%s"><title>%s</title>'
                     '<text x="4" y="%d">%s</text>%s</g>' % (_css_token(t['state']), esc(t['build']), esc(t['id']), esc(title), y + 12, esc(label[:28]), shape))
        items.append('<li>%s — uploaded %s, built %s, %s</li>' % (
            esc(label), esc(t['uploaded']), esc(t['build_date']), 'current' if t['state'] == 'current' else 'kept'))
    return (
        '<figure class="timeline" data-release="%s"><figcaption><strong>%s</strong>: %d version(s), end of support %s. '
        'Bars run from upload until replaced, dots mark the upstream build date.</figcaption><svg role="img" viewBox="0 0 %d %d" '
        'aria-label="Versions of %s over time">%s</svg><ol class="versions">%s</ol></figure>' % (
            esc(release['key']), esc(release['key']), len(release['timeline']), esc(release['provided_until']), _W, height, esc(release['key']),
            ''.join(parts), ''.join(items)))


def render_html(model):
    check_model(model, 'catalog_html')
    span = _span(model)
    meta = ' · '.join(part for part in (
        'Provider: %s' % esc(model['provider']) if model.get('provider') else '',
        'Images as of <time>%s</time>' % esc(model['as_of']) if model.get('as_of') else '',
        'Generated <time>%s</time>' % esc(model['generated_at']) if model.get('generated_at') else '',
    ) if part) or 'No images.'
    nav = ''.join('<li><a href="#cloud-%d">%s</a> (%d current, %d kept)</li>' % (
        number, esc(cloud['name']), cloud['totals']['current'], cloud['totals']['kept'])
        for number, cloud in enumerate(model['clouds'], 1))
    sections = []
    for number, cloud in enumerate(model['clouds'], 1):
        timelines = ''.join(_html_timeline(release, span) for release in cloud['releases'] if span) or '<p class="note">No releases.</p>'
        sections.append(
            '<section class="cloud" id="cloud-%d" data-cloud="%s" aria-labelledby="cloud-%d-title"><h2 id="cloud-%d-title">%s</h2>'
            '%s%s<h3>Versions per release</h3>%s</section>' % (
                number, esc(cloud['name']), number, number, esc(cloud['name']), _html_current(cloud, number),
                _html_kept(cloud, number, model['usage_known']), timelines))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="%s">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>%s</title>\n<style>%s</style>\n</head>\n'
        '<body>\n<header><h1>%s</h1><p class="meta">%s</p></header>\n'
        '<nav aria-label="Clouds"><ul>%s</ul></nav>\n'
        '<div id="filter-box" hidden><label for="filter">Filter images</label> <input id="filter" type="search" '
        'placeholder="name, release, build or id"> <output id="shown" for="filter"></output></div>\n'
        '<main>\n%s\n</main>\n<script>%s</script>\n</body>\n</html>\n' % (
            esc(CSP), esc(model['title']), _STYLE, esc(model['title']), meta, nav, '\n'.join(sections), _SCRIPT))
