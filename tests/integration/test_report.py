"""cloudimages.openstack.report against real Glance in two regions, the HTML checked in headless Chromium.

Each test run tags its images with a fresh provider, so other images on the shared cloud never
show up; everything created here is deleted at the end.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import uuid
import zlib
from html.parser import HTMLParser

import pytest

from playbook_runner import run_playbook

XSS = '<script>alert(1)</script>'
JINJA = "{{ lookup('ansible.builtin.pipe', 'id') }}"  # must show verbatim: results are data, never templated
INVENTORY = """\
clouds:
  hosts:
    region_one: {cloud: admin, region_name: RegionOne}
    region_two: {cloud: admin, region_name: RegionTwo}
%s
"""
REGIONS = {'region_one': 'RegionOne', 'region_two': 'RegionTwo'}
BUILDS = ('20260101', '20260201', '20260301')  # the last is "Latest"


def properties(build, **extra):
    props = {
        'cloudimages_release': 'debian-12', 'cloudimages_build': build, 'cloudimages_digest': 'sha512:' + '0' * 128,
        'os_distro': 'debian', 'os_version': '12', 'architecture': 'x86_64', 'image_build_date': '%s-%s-%s' % (build[:4], build[4:6], build[6:]),
        'image_source': 'https://cloud.debian.org/images/cloud/bookworm/%s/debian-12-genericcloud-amd64.qcow2' % build,
        'image_original_user': 'debian', 'provided_until': '2028-06-30', 'replace_frequency': 'monthly', 'uuid_validity': 'last-3',
    }
    props.update(extra)
    return props


@pytest.fixture(scope='module')
def seeded(cloud, tmp_path_factory):
    """Per region: "Debian 12 - Latest" (public) and two older community builds, real qcow2 data.

    RegionTwo's newest community image is named like a script and its login user like a Jinja
    expression; RegionOne also holds a private candidate (not published) without data.
    """
    work = tmp_path_factory.mktemp('report')
    disk = work / 'disk.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(disk), '64M'], check=True)
    provider = 'report-%s' % uuid.uuid4().hex[:8]
    tag = 'managed_by_%s' % provider
    created, conns = {}, {}
    try:
        for host, region in REGIONS.items():
            conn = conns[host] = cloud.connect('admin', region)
            for build in BUILDS:
                latest = build == BUILDS[-1]
                name = 'Debian 12 - Latest' if latest else 'Debian 12 - %s' % build
                extra = {}
                if host == 'region_two' and build == BUILDS[1]:
                    name, extra = XSS, {'image_original_user': JINJA}
                image = create_image(
                    conn, name=name, filename=str(disk), visibility='public' if latest else 'community', tags=[tag],
                    wait=True, timeout=120, **properties(build, **extra))
                created[host, build] = image
        candidate = create_image(conns['region_one'], name='Debian 12 - candidate', visibility='private', tags=[tag],
                                 **properties('20260401'))
        created['region_one', 'candidate'] = candidate
        images = {key: conns[key[0]].image.get_image(image.id) for key, image in created.items()}
        yield provider, images, work
    finally:
        for (host, _build), image in created.items():
            conns[host].image.delete_image(image.id, ignore_missing=True)


def create_image(conn, **kwargs):
    """Create an image; retry twice on a 5xx: the shared Glance keeps its DB in SQLite, which answers
    "database is locked" while other test sessions write. openstacksdk deletes the half-made image."""
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    for attempt in range(3):
        try:
            return conn.image.create_image(allow_duplicates=True, container_format='bare', disk_format='qcow2', **kwargs)
        except exceptions.HttpException as exc:
            if attempt == 2 or not exc.status_code or exc.status_code < 500:
                raise
    return None


def inventory(work, cloud_hosts=None):
    path = work / ('inventory-%s.yml' % uuid.uuid4().hex[:6])
    path.write_text(INVENTORY % (cloud_hosts or ''), encoding='utf-8')
    return str(path)


@pytest.fixture(scope='module')
def report(cloud, seeded):
    """One real run of the playbook, with usage known for RegionOne's community images only."""
    provider, images, work = seeded
    out = work / 'out'
    usage = {images['region_one', BUILDS[0]].id: {'servers': 2, 'volumes': 1},
             images['region_one', BUILDS[1]].id: {'servers': 0, 'volumes': 0}}
    result = run_playbook('cloudimages.openstack.report', env=cloud.env(), inventory=inventory(work),
                          extra_vars={'report_provider': provider, 'report_dir': str(out), 'report_usage': usage})
    assert result.rc == 0, result.output
    return out, result


def test_json_is_the_catalog(seeded, report):
    _provider, images, _work = seeded
    out, _result = report
    model = json.loads((out / 'catalog.json').read_text(encoding='utf-8'))
    assert [c['name'] for c in model['clouds']] == ['region_one', 'region_two']
    assert model['totals'] == {'current': 2, 'kept': 4, 'releases': 2} and model['usage_known'] is True
    for c in model['clouds']:
        host = c['name']
        latest = images[host, BUILDS[-1]]
        assert [e['id'] for e in c['current']] == [latest.id]
        entry = c['current'][0]
        assert entry['name'] == 'Debian 12 - Latest' and (entry['distribution'], entry['version'], entry['build']) == ('debian', '12', BUILDS[-1])
        assert entry['checksums'] == {'md5': latest.checksum, latest.hash_algo: latest.hash_value} and len(latest.checksum) == 32
        assert entry['source'].endswith('/%s/debian-12-genericcloud-amd64.qcow2' % BUILDS[-1])
        assert (entry['build_date'], entry['provided_until'], entry['uploaded']) == ('2026-03-01', '2028-06-30', latest.created_at)
        assert sorted(e['id'] for e in c['kept']) == sorted(images[host, b].id for b in BUILDS[:2])
        [release] = c['releases']
        assert release['key'] == 'debian-12' and [t['build'] for t in release['timeline']] == list(BUILDS)
        assert [t['state'] for t in release['timeline']] == ['kept', 'kept', 'current']
    one, two = model['clouds']
    assert one['totals']['not_published'] == 1                       # the private candidate
    assert {e['build']: (e['kept_because'], e['usage']) for e in one['kept']} == {
        BUILDS[0]: ('in use', {'servers': 2, 'volumes': 1}), BUILDS[1]: ('retention', {'servers': 0, 'volumes': 0})}
    assert {e['kept_because'] for e in two['kept']} == {'unknown'}
    assert XSS in [e['name'] for e in two['kept']] and JINJA in [e['login_user'] for e in two['kept']]


def test_markdown(report):
    out, _result = report
    text = (out / 'catalog.md').read_text(encoding='utf-8')
    assert text.startswith('# Public image catalog\n')
    assert '## Cloud region\\_one' in text and '## Cloud region\\_two' in text
    assert text.count('| Debian 12 - Latest | debian | 12 | x86\\_64 | %s | 2026-03-01 |' % BUILDS[-1]) == 2
    assert '\\<script\\>alert(1)\\</script\\>' in text and XSS not in text
    assert '| in use | 2 | 1 |' in text and '| retention | 0 | 0 |' in text
    assert text.count('- **debian-12**: 20260101') == 2


def test_second_run_changes_nothing_and_check_mode_writes_nothing(cloud, seeded, report):
    provider, _images, work = seeded
    out, _result = report
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    usage = json.loads((out / 'catalog.json').read_text(encoding='utf-8'))
    usage = {e['id']: e['usage'] for c in usage['clouds'] for e in c['kept'] if e['usage']}
    again = run_playbook('cloudimages.openstack.report', env=cloud.env(), inventory=inventory(work),
                         extra_vars={'report_provider': provider, 'report_dir': str(out), 'report_usage': usage})
    assert again.rc == 0 and again.changed() == 0, again.output
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    fresh = work / 'check'
    check = run_playbook('cloudimages.openstack.report', env=cloud.env(), inventory=inventory(work), check=True,
                         extra_vars={'report_provider': provider, 'report_dir': str(fresh)})
    assert check.rc == 0 and check.changed() > 0, check.output
    assert not fresh.exists()
    assert '+# Public image catalog' in check.output                  # the diff shows the would-be Markdown


@pytest.mark.parametrize('case', ['no-provider', 'cloud-fails', 'bad-usage', 'no-hosts'])
def test_bad_input_renders_nothing(cloud, seeded, case):
    provider, _images, work = seeded
    out = work / ('bad-%s' % case)
    extra = {'report_provider': provider, 'report_dir': str(out)}
    hosts, expected = '', None
    if case == 'no-provider':
        del extra['report_provider']
        expected = 'report_provider is required'
    elif case == 'cloud-fails':
        hosts, expected = '    region_gone: {cloud: no-such-cloud}', 'no images from region_gone'
    elif case == 'bad-usage':
        extra['report_usage'] = {'some-id': {'servers': -1}}
        expected = 'usage of image some-id: servers must be a count'
    else:
        extra['report_hosts'] = 'nothing_matches_this'
        expected = 'no host matches nothing_matches_this'
    result = run_playbook('cloudimages.openstack.report', env=cloud.env(), inventory=inventory(work, hosts), extra_vars=extra)
    assert result.rc != 0
    assert expected in result.output, result.output
    assert not out.exists()


# ---------------------------------------------------------------- the HTML in a real browser

def chromium(*args, tmp_path):
    """Headless Chromium on a file:// page, kept off the network (no proxy, every host name unresolvable)."""
    binary = shutil.which('chromium')
    if binary is None:
        pytest.skip('chromium is not installed (tools/bootstrap.sh installs the Debian package)')
    cmd = [binary, '--headless', '--no-sandbox', '--disable-gpu', '--no-proxy-server', '--host-resolver-rules=MAP * ~NOTFOUND',
           '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-extensions',
           '--user-data-dir=%s' % (tmp_path / 'chromium-profile')] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def png_size_and_rows(path):
    """(width, height, distinct scanlines) of a PNG, without an imaging library."""
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    width, height = struct.unpack('>II', data[16:24])
    pos, idat = 8, b''
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        if kind == b'IDAT':
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = len(raw) // height
    return width, height, len({raw[row * stride:(row + 1) * stride] for row in range(height)})


class Dom(HTMLParser):
    """The elements of the dumped DOM, with their attributes and the text inside each."""

    def __init__(self):
        super().__init__()
        self.elements, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        element = {'tag': tag, 'attrs': dict(attrs), 'text': '', 'parents': [e['tag'] for e in self.stack]}
        self.elements.append(element)
        if tag not in ('br', 'meta', 'input', 'link', 'img', 'rect', 'circle', 'line'):
            self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()['tag'] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element['text'] += data

    def find(self, tag, **attrs):
        return [e for e in self.elements if e['tag'] == tag and all(e['attrs'].get(k.rstrip('_')) == v for k, v in attrs.items())]


def test_html_in_chromium(seeded, report, tmp_path):
    _provider, images, _work = seeded
    out, _result = report
    page = out / 'catalog.html'
    shot = tmp_path / 'catalog.png'
    chromium('--screenshot=%s' % shot, '--window-size=1280,2000', page.as_uri(), tmp_path=tmp_path)
    width, height, rows = png_size_and_rows(shot)
    assert (width, height) == (1280, 2000)
    assert rows > 100, 'the screenshot looks blank: %d distinct rows' % rows

    dom = Dom()
    dom.feed(chromium('--dump-dom', page.as_uri(), tmp_path=tmp_path).stdout)
    assert dom.find('html')[0]['attrs']['lang'] == 'en'
    assert [s['attrs']['data-cloud'] for s in dom.find('section')] == ['region_one', 'region_two']
    for number, host in enumerate(REGIONS, 1):
        current = dom.find('table', id='current-%d' % number)[0]
        kept = dom.find('table', id='kept-%d' % number)[0]
        assert 'Debian 12 - Latest' in current['text'] and 'debian-12' in kept['text']
        ids = [e['attrs']['data-image-id'] for e in dom.elements if e['tag'] == 'tr' and 'data-image-id' in e['attrs']]
        assert images[host, BUILDS[-1]].id in ids and all(images[host, b].id in ids for b in BUILDS[:2])
    assert len([e for e in dom.find('tr') if 'data-image-id' in e['attrs']]) == 6
    figures = dom.find('figure', class_='timeline')
    assert [f['attrs']['data-release'] for f in figures] == ['debian-12', 'debian-12']
    versions = [e for e in dom.find('g') if e['attrs'].get('class', '').startswith('version ')]
    assert [v['attrs']['data-build'] for v in versions] == list(BUILDS) * 2
    assert [v['attrs']['class'] for v in versions[:3]] == ['version kept', 'version kept', 'version current']
    assert len(dom.find('rect')) == 6

    # The script-like name is text in a row header; the page's only script is its own, and it ran.
    assert len(dom.find('script')) == 1 and 'alert(1)' not in dom.find('script')[0]['text']
    assert XSS in [e['text'] for e in dom.find('th', scope='row')]
    assert 'hidden' not in dom.find('div', id='filter-box')[0]['attrs']
    assert dom.find('output', id='shown')[0]['text'] == '6 of 6 images shown'

    # Nothing external: the only http(s) addresses are the upstream sources shown as links.
    sources = {images[host, build].properties['image_source'] for host in REGIONS for build in BUILDS}
    for element in dom.elements:
        for attr in ('src', 'href', 'action', 'data', 'poster', 'srcset'):
            value = element['attrs'].get(attr)
            if value is not None:
                assert value.startswith('#') or (element['tag'] == 'a' and value in sources), (element['tag'], attr, value)
    assert not dom.find('link') and not dom.find('img') and not dom.find('iframe')


def test_html_filter_from_the_address(report, tmp_path):
    out, _result = report
    dom = Dom()
    dom.feed(chromium('--dump-dom', (out / 'catalog.html').as_uri() + '#filter=' + BUILDS[0], tmp_path=tmp_path).stdout)
    rows = [e for e in dom.find('tr') if 'data-image-id' in e['attrs']]
    assert [BUILDS[0] in r['attrs']['data-search'] for r in rows if 'hidden' not in r['attrs']] == [True, True]
    assert dom.find('output', id='shown')[0]['text'] == '2 of 6 images shown'
