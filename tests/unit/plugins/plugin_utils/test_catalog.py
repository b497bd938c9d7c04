from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.cloudimages.openstack.plugins.filter.catalog import catalog_html as render_html, csp_hash
from ansible_collections.cloudimages.openstack.plugins.plugin_utils._catalog import (
    IN_USE, RETENTION, UNKNOWN, CatalogError, build_model, day, md, natural_key, render_markdown,
)

TAG = 'managed_by_example'
XSS = '<script>alert(1)</script>'


def image(image_id, name, visibility='public', release='ubuntu-24.04', build='20260301', created='2026-03-02T08:00:00Z', hidden=False, **props):
    distro, version = release.split('-', 1)
    properties = {
        'cloudimages_release': release, 'cloudimages_build': build, 'cloudimages_digest': 'sha256:' + 'ab' * 32,
        'os_distro': distro, 'os_version': version, 'image_build_date': '%s-%s-%s' % (build[:4], build[4:6], build[6:8]),
        'image_source': 'https://cloud-images.ubuntu.com/releases/noble/release-%s/noble.img' % build,
        'image_original_user': distro, 'provided_until': '2029-05-31', 'replace_frequency': 'monthly', 'uuid_validity': 'last-3',
    }
    properties.update(props)
    return {
        'id': image_id, 'name': name, 'visibility': visibility, 'status': 'active', 'os_hidden': hidden, 'tags': [TAG],
        'disk_format': 'qcow2', 'size': 1024, 'min_disk': 4, 'min_ram': 512, 'checksum': 'c' * 32,
        'os_hash_algo': 'sha512', 'os_hash_value': 'e' * 128, 'created_at': created, 'updated_at': created, 'properties': properties,
    }


def catalog():
    return {
        'region_two': [image('u3', 'Ubuntu 24.04 - Latest')],
        'region_one': [
            image('u3', 'Ubuntu 24.04 - Latest'),
            image('u2', 'Ubuntu 24.04 - 2026-02-02', 'community', build='20260201', created='2026-02-02T08:00:00Z'),
            image('u1', 'Ubuntu 24.04 - 2026-01-02', 'community', build='20260101', created='2026-01-02T08:00:00Z'),
            image('d1', 'Debian 12 - Latest', release='debian-12', build='20260215', created='2026-02-16T08:00:00Z'),
            image('p1', 'candidate', 'private', build='20260401', created='2026-04-01T08:00:00Z'),
            image('s1', 'Ubuntu 24.04 20251201', release='ubuntu-24.04', build='20251201', created='2025-12-02T08:00:00Z', hidden=True),
        ],
    }


def test_model_groups_per_cloud_and_release():
    model = build_model(catalog(), provider='example')
    assert [cloud['name'] for cloud in model['clouds']] == ['region_one', 'region_two']
    one = model['clouds'][0]
    assert [e['id'] for e in one['current']] == ['d1', 'u3']          # debian-12 sorts before ubuntu-24.04
    assert [e['id'] for e in one['kept']] == ['s1', 'u1', 'u2']       # public+hidden counts as kept (SCS profile)
    assert one['totals'] == {'current': 2, 'kept': 3, 'releases': 2, 'not_published': 1}
    assert model['totals'] == {'current': 3, 'kept': 3, 'releases': 3}
    assert model['as_of'] == '2026-04-01T08:00:00Z'                  # newest change, the private candidate's included
    entry = one['current'][1]
    assert entry['checksums'] == {'md5': 'c' * 32, 'sha512': 'e' * 128}
    assert (entry['distribution'], entry['version'], entry['build'], entry['build_date']) == ('ubuntu', '24.04', '20260301', '2026-03-01')
    assert entry['source'].startswith('https://') and entry['provided_until'] == '2029-05-31'
    assert entry['upstream_digest'] == 'sha256:' + 'ab' * 32


def test_timeline_orders_versions_and_marks_replacement():
    one = build_model(catalog())['clouds'][0]
    ubuntu = [r for r in one['releases'] if r['key'] == 'ubuntu-24.04'][0]
    assert [t['build'] for t in ubuntu['timeline']] == ['20251201', '20260101', '20260201', '20260301']
    assert [t['state'] for t in ubuntu['timeline']] == ['kept', 'kept', 'kept', 'current']
    assert [t['replaced'] for t in ubuntu['timeline']] == ['2026-01-02T08:00:00Z', '2026-02-02T08:00:00Z', '2026-03-02T08:00:00Z', None]
    assert ubuntu['current'] == ['Ubuntu 24.04 - Latest'] and ubuntu['provided_until'] == '2029-05-31'


def test_a_public_listed_previous_version_is_kept_not_current():
    # previous_visibility public: older versions stay public and listed, with the demotion mark.
    images = catalog()['region_one']
    images[1] = dict(images[1], visibility='public', properties=dict(
        images[1]['properties'], cloudimages_demoted_at='2026-03-02T09:00:00Z'))
    one = build_model({'region_one': images})['clouds'][0]
    assert [e['id'] for e in one['current']] == ['d1', 'u3']
    assert [e['id'] for e in one['kept']] == ['s1', 'u1', 'u2']


@pytest.mark.parametrize('usage, reasons', [
    (None, {'s1': UNKNOWN, 'u1': UNKNOWN, 'u2': UNKNOWN}),
    ({'u1': {'servers': 2, 'volumes': 0}, 'u2': {'servers': 0, 'volumes': 0}}, {'s1': UNKNOWN, 'u1': IN_USE, 'u2': RETENTION}),
    ({'u1': {'volumes': 1}, 's1': {}}, {'s1': RETENTION, 'u1': IN_USE, 'u2': UNKNOWN}),
])
def test_kept_reason(usage, reasons):
    model = build_model(catalog(), usage=usage)
    kept = model['clouds'][0]['kept']
    assert {e['id']: e['kept_because'] for e in kept} == reasons
    assert model['usage_known'] is (usage is not None)
    if usage:
        assert [e['usage'] for e in kept if e['id'] == 'u1'][0]['servers'] == usage['u1'].get('servers', 0)


@pytest.mark.parametrize('clouds, usage, message', [
    ([], None, 'clouds must be a mapping'),
    ({'c': {'id': 'x'}}, None, 'cloud c: images must be a list'),
    ({'c': [{'name': 'no id'}]}, None, 'cloud c: image #0 is not an image_info result'),
    ({'c': ['x']}, None, 'cloud c: image #0'),
    ({'c': [{'id': 'i', 'properties': 'x'}]}, None, 'image i: properties must be a mapping'),
    ({}, ['u1'], 'usage must be a mapping'),
    ({}, {'u1': 3}, 'usage of image u1 must be a mapping'),
    ({}, {'u1': {'servers': -1}}, 'servers must be a count'),
    ({}, {'u1': {'volumes': '2'}}, 'volumes must be a count'),
    ({}, {'u1': {'servers': True}}, 'servers must be a count'),
])
def test_bad_input_is_named(clouds, usage, message):
    with pytest.raises(CatalogError, match=re.escape(message)):
        build_model(clouds, usage=usage)


@pytest.mark.parametrize('render', [render_markdown, render_html])
def test_renderers_want_a_model(render):
    with pytest.raises(CatalogError, match='catalog_model'):
        render({'clouds': {}})


def test_images_without_properties_still_show():
    model = build_model({'c': [{'id': 'x', 'name': None, 'visibility': 'public'}]})
    entry = model['clouds'][0]['current'][0]
    assert entry['release'] == 'unknown' and entry['name'] == '' and entry['checksums'] == {}
    assert model['as_of'] is None
    render_markdown(model)
    render_html(model)


def test_empty_catalog():
    model = build_model({})
    assert model['clouds'] == [] and model['totals'] == {'current': 0, 'kept': 0, 'releases': 0}
    assert 'No images.' in render_markdown(model)
    assert '<main>' in render_html(model)


def test_markdown_links_clean_sources():
    text = render_markdown(build_model(catalog()))
    assert len(re.findall(r'(?<!\\)<https://cloud-images.ubuntu.com/releases/noble/release-2026[0-9]{4}/noble.img>', text)) == 3  # current images only
    assert "md5 `%s`<br>sha512 `%s`" % ('c' * 32, 'e' * 128) in text


def test_json_round_trips():
    model = build_model(catalog(), usage={'u1': {'servers': 1, 'volumes': 0}}, generated_at='2026-04-02T00:00:00Z')
    assert json.loads(json.dumps(model)) == model


def test_output_is_deterministic_without_generated_at():
    shuffled = {name: list(reversed(images)) for name, images in reversed(list(catalog().items()))}
    assert render_html(build_model(catalog())) == render_html(build_model(shuffled))
    assert render_markdown(build_model(catalog())) == render_markdown(build_model(shuffled))


def test_natural_key_and_day():
    assert sorted(['debian-13', 'debian-9', 'ubuntu-22.04', 'ubuntu-24.04', 'ubuntu-9'], key=natural_key) == [
        'debian-9', 'debian-13', 'ubuntu-9', 'ubuntu-22.04', 'ubuntu-24.04']
    assert natural_key('²') == ((1, 0, '²'),)
    assert str(day('2026-02-30')) == 'None' and str(day('2026-02-03 10:00')) == '2026-02-03' and day(None) is None and day(5) is None


# ---------------------------------------------------------------- hostile values

def hostile():
    evil = image('x1', XSS, release='ubuntu-24.04', image_source='javascript:alert(2)', provided_until='<b>never</b>')
    evil2 = image('x2', '<img src=x onerror=alert(3)> | *bold* [a](http://evil.example)', 'community',
                  build='"><svg onload=alert(4)>', created='2026-01-01T00:00:00Z', image_source='https://ok.example/a"onmouseover="x')
    return {'<cloud & "co">': [evil, evil2]}


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_every_value():
    page = render_html(build_model(hostile(), provider='<p>'))
    parser = Collect()
    parser.feed(page)
    assert parser.tags.count('script') == 1 and 'img' not in parser.tags and parser.tags.count('svg') == 1
    assert not [a for a in parser.attrs if a[1].startswith('on')]
    hrefs = [value for tag, name, value in parser.attrs if name in ('href', 'src')]
    assert all(href.startswith('#') for href in hrefs), hrefs         # javascript: and a quote-breaking URL are not links
    text = ''.join(parser.text)
    assert XSS in text and '<cloud & "co">' in text and 'javascript:alert(2)' in text


def test_class_values_of_a_hostile_model_stay_one_class_name():
    """render_html takes a model (JSON from anywhere): its kept reason and timeline state end up in class=."""
    model = build_model(hostile(), usage={'x2': {'servers': 1, 'volumes': 0}})
    cloud = model['clouds'][0]
    cloud['kept'][0]['kept_because'] = 'in use"><script>alert(5)</script><b class="x'
    for release in cloud['releases']:
        for version in release['timeline']:
            version['state'] = 'kept" onmouseover="alert(6)'
    parser = Collect()
    parser.feed(render_html(model))
    assert parser.tags.count('script') == 1 and 'b' not in parser.tags
    assert not [a for a in parser.attrs if a[1].startswith('on')]
    classes = [value for tag, name, value in parser.attrs if name == 'class']
    assert 'reason-in-use-script-alert-5-script-b-class-x' in classes and 'version kept-onmouseover-alert-6' in classes


def test_html_is_self_contained():
    page = render_html(build_model(catalog()))
    assert '<html lang="en">' in page and 'Content-Security-Policy' in page
    parser = Collect()
    parser.feed(page)
    links = [value for tag, name, value in parser.attrs if name in ('href', 'src')]
    assert all(v.startswith('#') or v.startswith('https://cloud-images.ubuntu.com/') for v in links)
    assert not [a for a in parser.attrs if a[1] == 'src']
    csp = [value for tag, name, value in parser.attrs if tag == 'meta' and name == 'content' and 'default-src' in value][0]
    assert "default-src 'none'" in csp and 'unsafe' not in csp
    # The policy allows exactly the page's own style and script.
    style = re.search(r'<style>(.*?)</style>', page, re.S).group(1)
    script = re.search(r'<script>(.*?)</script>', page, re.S).group(1)
    assert csp_hash(style) in csp and csp_hash(script) in csp


def test_markdown_escapes_every_value():
    text = render_markdown(build_model(hostile()))
    # The only raw markup left is ours: <br> between digests (no source here is a clean http(s) URL).
    assert re.findall(r'(?<!\\)<(?!br>)[^>]*>?', text) == []
    assert not re.search(r'(?<!\\)\]\(', text)                          # no [text](link)
    assert '\\<script\\>alert(1)\\</script\\>' in text and 'javascript:alert(2)' in text
    row = [line for line in text.splitlines() if 'alert(3)' in line][0]
    assert len(re.findall(r'(?<!\\)\|', row)) == 8                        # seven cells: the name's | is escaped


@settings(max_examples=200, deadline=None)
@given(name=st.text(), source=st.text(), build=st.text(min_size=1))
def test_no_value_escapes_its_cell(name, source, build):
    model = build_model({'c': [image('i', name, image_source=source, cloudimages_build=build)]})
    parser = Collect()
    parser.feed(render_html(model))
    assert parser.tags.count('script') == 1 and not [a for a in parser.attrs if a[1].startswith('on')]
    assert all(value.startswith(('#', 'http://', 'https://')) for tag, attr, value in parser.attrs if attr == 'href')
    row = [line for line in render_markdown(model).splitlines() if line.startswith('| ') and 'md5' in line][0]
    assert len(re.findall(r'(?<!\\) \| ', row.replace('\\\\', ''))) == 9      # ten cells, whatever the values
    assert md(name).count('\n') == 0


def test_ages_and_end_of_support_warnings():
    from ansible_collections.cloudimages.openstack.plugins.plugin_utils._catalog import ages  # pylint: disable=import-outside-toplevel
    soon = image('s', 'Soon - Latest', release='debian-11', created='2026-09-01T08:00:00Z', provided_until='2026-12-31')
    past = image('p', 'Past - Latest', release='debian-10', created='2026-11-01T08:00:00Z', provided_until='2026-11-30')
    model = build_model({'c': [soon, past, image('u', 'Ubuntu - Latest', created='2026-11-30T08:00:00Z')]})
    found = ages(model, '2026-12-02')
    assert [(a['name'], a['age_days'], a['days_to_end_of_support'], a['warning']) for a in found] == [
        ('Soon - Latest', 92, 29, 'end of support in 29 days'),
        ('Past - Latest', 31, -2, 'end of support passed 2 days ago'),
        ('Ubuntu - Latest', 2, 911, None)]  # provided_until 2029-05-31
    assert [a['warning'] for a in ages(model, '2026-12-02', warn_days=10)][0] is None
    with pytest.raises(CatalogError, match='today'):
        ages(model, 'yesterday')
