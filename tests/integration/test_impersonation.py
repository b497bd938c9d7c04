"""Issue 17, items 1 and 2: another project's images with the provider's tag, and an unverified candidate.

The tag ``managed_by_<provider>`` and the ``cloudimages_*`` properties are public, so the project
``alt`` puts them on images of its own: a newer build, the vendor's real digest, and an
``image_source`` pointing at a loopback canary that records any request. Then the provider (admin,
RegionOne) runs the daily sync, image_rotate, release_status_info, image_usage_info, image_info,
the verify playbook and the report playbook, all for real. None of those images may be renamed,
promoted, deleted, downloaded or listed as the provider's, and the runs must name them in warnings.

Before that, a private image of the provider with this build's identity but other bytes (what a
web-download import that finished after its run was killed leaves) must be deleted, not promoted,
and the verified build uploaded and promoted instead.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from playbook_runner import run_playbook
from sync_support import managed_images

RELEASE_KEY = 'cirros-0.6'
NAME = 'CirrOS 0.6'
PLANTED = b'bytes nobody verified' * 64
WATCHED = ('name', 'visibility', 'status', 'owner', 'updated_at', 'checksum', 'tags', 'is_hidden', 'properties')


@pytest.fixture
def canary():
    """A loopback HTTP server that answers 200 to anything and records every request."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(200)
            self.send_header('Content-Length', '4')
            self.end_headers()
            self.wfile.write(b'bait')

        do_HEAD = do_GET

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


def discover(cloud, server, upstream, provider, tmp_path):
    """The mirror's current CirrOS 0.6 release (version, checksum, url), as the sync will find it."""
    spec = {'discover': {'source': 'cirros', 'release': '0.6', 'allow_unsigned': True, 'cache_dir': str(tmp_path / 'discovery'),
                         'url_rewrites': {'https://': server.url + '/'}},
            'rotate': {'provider': provider, 'release_key': RELEASE_KEY, 'name': NAME}}
    results = tmp_path / 'discovered.json'
    result = run_playbook('release_status_info.yml', env=cloud.env(), extra_vars={'releases': [spec], 'results_file': str(results)})
    assert result.rc == 0, result.output
    return spec, json.loads(results.read_text())['releases'][0]['release']


def watched(conn, image_id):
    image = conn.image.get_image(image_id).to_dict(computed=False)
    return {key: image.get(key) for key in WATCHED}


def forge(alt, admin, tag, release, canary_url):
    """alt's images that copy the provider's tag and properties; returns {label: id}."""
    common = dict(disk_format='raw', container_format='bare', allow_duplicates=True, tags=[tag, 'os:cirros'],
                  data=b'not the vendor bytes' * 64, os_distro='cirros', os_version='0.6')
    forged = {
        # A newer "build": the newest version of the group if ownership were not checked.
        'newer': dict(name=NAME + ' - Latest', visibility='community',
                      **_managed.identity(RELEASE_KEY, '99991231', 'sha256:' + '1' * 64)),
        # The vendor's real digest and build: "the build we already have" if ownership were not checked.
        'real_digest': dict(name=NAME, visibility='shared', image_source=release['url'],
                            **_managed.identity(RELEASE_KEY, release['version'], release['checksum'])),
        # image_verify would download image_source from the controller.
        'canary': dict(name=NAME + ' (verified)', visibility='community', image_source=canary_url + '/cirros.img',
                       **_managed.identity(RELEASE_KEY, release['version'], release['checksum'])),
    }
    ids = {}
    for label, kwargs in forged.items():
        ids[label] = alt.image.create_image(**dict(common, **kwargs)).id
    # Shared with the provider's project and accepted there: visible in admin's own default list too.
    project = admin.current_project_id
    alt.image.add_member(ids['real_digest'], member=project)
    admin.image.update_member(project, ids['real_digest'], status='accepted')
    return ids


def plant_unverified_candidate(admin, tag, release):
    """Ours, private, this build's identity, other bytes: a killed web-download import finished later."""
    image = admin.image.create_image(
        name=NAME + ' (candidate %s)' % release['version'], disk_format='raw', container_format='bare', visibility='private',
        allow_duplicates=True, tags=[tag, 'os:cirros'], data=PLANTED,
        **_managed.identity(RELEASE_KEY, release['version'], release['checksum']))
    return image.id


def test_impostors_are_never_touched_and_an_unverified_candidate_is_replaced(daily_sync, cloud, upstream, server, canary, tmp_path):
    # (Glance's request log cannot tell our creates from other tests' on the shared stack: the
    # images of the provider's project are counted instead.)
    sync = daily_sync('imp', limit='region_one', tags='cirros')
    provider = sync.provider
    tag = _managed.managed_tag(provider)
    admin, alt = cloud.connect('admin'), cloud.connect('alt')
    canary_url, canary_requests = canary
    forged = {}
    inventory = sync.inventory()

    def ours():
        return {image.id: image for image in managed_images(admin, provider) if image.owner == admin.current_project_id}

    try:
        spec, release = discover(cloud, server, upstream, provider, tmp_path)

        # Item 2: the unverified private candidate is deleted and the verified build uploaded and promoted.
        planted = plant_unverified_candidate(admin, tag, release)
        first = sync()
        assert first.rc == 0, first.output
        assert 'image %s of this build was not promoted yet and is not what this upload makes' % planted in first.output
        (latest,) = ours().values()
        assert latest.id != planted
        assert (latest.name, latest.visibility, latest.status) == (NAME + ' - Latest', 'public', 'active')
        assert admin.image.find_image(planted, ignore_missing=True) is None
        assert latest.properties[_managed.DIGEST] == release['checksum']
        assert latest.checksum != hashlib.md5(PLANTED).hexdigest()   # and the verify playbook below says "match"

        # Item 1: alt forges the tag and properties; nothing of the provider's runs may act on them.
        forged = forge(alt, admin, tag, release, canary_url)
        snapshot = {image_id: watched(alt, image_id) for image_id in forged.values()}
        latest_before = watched(admin, latest.id)

        second = sync()
        assert second.rc == 0, second.output
        assert second.changed() == 0 and 'Fetch, verify and inspect' not in second.output, second.output
        for image_id in forged.values():
            assert image_id in second.output and 'not owned by this provider' in second.output, second.output

        results = tmp_path / 'modules.json'
        modules = run_playbook('impersonation.yml', env=cloud.env(), extra_vars={
            'provider': provider, 'release_key': RELEASE_KEY, 'base_name': NAME, 'releases': [spec],
            'results_file': str(results)})
        assert modules.rc == 0 and modules.changed() == 0, modules.output
        out = json.loads(results.read_text())
        assert out['rotated']['latest'] == latest.id and [a['id'] for a in out['rotated']['plan']] == [latest.id]
        (status,) = out['status']['releases']
        assert status['settled'] and status['existing']['id'] == latest.id, status
        assert [i['id'] for i in out['usage']['images']] == [latest.id]
        assert [i['id'] for i in out['info']['images']] == [latest.id]
        for name in ('rotated', 'status', 'usage', 'info'):
            warned = ' '.join(out[name].get('warnings', []))
            assert all(image_id in warned for image_id in forged.values()), (name, out[name].get('warnings'))
            assert alt.current_project_id in warned
        assert len(out['status']['impostors']) == 3    # once per cloud, not once per release

        verify = run_playbook('cloudimages.openstack.verify', env=cloud.env(), inventory=str(inventory),
                              args=['--limit', 'region_one'],
                              extra_vars={'verify_provider': provider, 'verify_url_rewrites': {'https://': server.url + '/'},
                                          'verify_cache_dir': str(tmp_path / 'cache-verify')})
        assert verify.rc == 0, verify.output
        assert 'region_one: 1 match' in verify.output, verify.output
        assert forged['canary'] in verify.output and 'not owned by this provider' in verify.output

        out_dir = tmp_path / 'report'
        report = run_playbook('cloudimages.openstack.report', env=cloud.env(), inventory=str(inventory),
                              extra_vars={'report_provider': provider, 'report_dir': str(out_dir), 'report_hosts': 'region_one'})
        assert report.rc == 0 and (out_dir / 'catalog.json').exists(), report.output
        catalog = (out_dir / 'catalog.json').read_text()
        assert latest.id in catalog and not any(image_id in catalog for image_id in forged.values())
        assert not any(image_id in (out_dir / 'catalog.html').read_text() for image_id in forged.values())
        assert forged['newer'] in report.output and 'not owned by this provider' in report.output

        # Nothing happened to alt's images, nothing was downloaded from them, ours is as it was.
        assert {image_id: watched(alt, image_id) for image_id in forged.values()} == snapshot
        assert canary_requests == []
        assert watched(admin, latest.id) == latest_before
        assert list(ours()) == [latest.id]
    finally:
        for image_id in forged.values():
            alt.image.delete_image(image_id, ignore_missing=True)
