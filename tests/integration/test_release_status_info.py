"""release_status_info against real Glance and the local mirror, through ansible-playbook."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from playbook_runner import run_playbook
from rotation_helpers import Group, tiny_qcow2


@pytest.fixture(scope='module')
def qcow2(tmp_path_factory):
    return tiny_qcow2(tmp_path_factory.mktemp('status'))


@pytest.fixture
def group(cloud, qcow2):
    made = Group(cloud, qcow2, release_key='cirros-0.6')
    yield made
    made.cleanup()


def cirros(group, server, cache, release='0.6'):
    return {'discover': {'source': 'cirros', 'release': release, 'allow_unsigned': True, 'cache_dir': str(cache),
                         'url_rewrites': {'https://': server.url + '/'}},
            'rotate': {'provider': group.provider, 'release_key': group.release_key, 'name': group.name, 'keep': 2,
                       'delete_unused': True},
            'min_ram': 128}  # the caller's own data, ignored


def status(cloud, tmp_path, releases, check=False):
    results = tmp_path / 'status.json'
    glance_before = len(cloud.stack.api_requests('glance'))
    result = run_playbook('release_status_info.yml', env=cloud.env(), check=check,
                          extra_vars={'releases': releases, 'results_file': str(results)})
    assert result.rc == 0, result.output
    assert result.changed() == 0
    # Listings of these releases' providers only: other tests share the stack.
    tags = {'managed_by_%s' % r['rotate']['provider'] for r in releases}
    listings = [r for r in cloud.stack.api_requests('glance')[glance_before:] if r[0] == 'GET' and r[1].startswith('/v2/images')
                and any(tag in r[1] for tag in tags)]
    return json.loads(results.read_text()), listings


def test_from_empty_cloud_to_settled(cloud, group, server, tmp_path):
    releases = [
        cirros(group, server, tmp_path / 'cache'),
        {'rotate': {'provider': group.provider, 'release_key': 'debian-11', 'name': 'Debian 11', 'retired': True}},
        dict(cirros(group, server, tmp_path / 'cache'), rotate={'provider': group.provider, 'release_key': 'x', 'name': 'X', 'keep': 'many'}),
        cirros(group, server, tmp_path / 'cache', release='9.9'),
    ]
    out, listings = status(cloud, tmp_path, releases)
    fresh, retired, bad, unknown = out['releases']
    mirror_version = fresh['release']['version']
    assert (fresh['key'], fresh['settled'], fresh['error']) == ('cirros-0.6', False, None)
    assert fresh['reason'] == 'build %s is not in this cloud yet' % mirror_version
    assert fresh['release']['checksum'].startswith('sha256:') and fresh['existing'] is None
    assert (retired['settled'], retired['reason'], retired['release']) == (
        True, 'retired in the data (rotate.retired); retired, nothing to change', None)
    assert not bad['settled'] and 'keep' in bad['error']
    assert not unknown['settled'] and 'no version of that series' in unknown['error']
    # One listing for every release: two queries with the owner filter (Glance lists os_hidden images
    # only when asked), and two without it that only look for other projects' images with our tag.
    owner = 'owner=%s' % group.admin.current_project_id
    assert sorted(('os_hidden=true' in path.lower(), owner in path) for _method, path, _status in listings) == [
        (False, False), (False, True), (True, False), (True, True)], listings
    assert out['requests'] >= 1

    # Uploaded, not promoted yet: the whole path has work to do.
    candidate = group.candidate(**{_managed.BUILD: mirror_version, _managed.DIGEST: fresh['release']['checksum']})
    out = status(cloud, tmp_path, releases[:1])[0]
    assert out['releases'][0]['reason'] == 'build %s is uploaded but not promoted yet' % mirror_version
    assert out['releases'][0]['existing']['id'] == candidate

    # Promoted: settled, in check mode too; a changed property is work again.
    group.run(candidate=candidate, keep=2, delete_unused=True)
    out = status(cloud, tmp_path, releases[:1], check=True)[0]
    assert out['releases'][0]['settled'], out['releases'][0]
    assert out['releases'][0]['existing']['name'] == group.latest
    uploaded = out['releases'][0]['existing']['created_at']
    assert out['releases'][0]['latest_since'] == uploaded
    # Discovery fails (a series upstream lacks): the published Latest keeps its age (issue 22).
    out = status(cloud, tmp_path, [cirros(group, server, tmp_path / 'cache', release='9.9')])[0]
    assert out['releases'][0]['error'] and out['releases'][0]['latest_since'] == uploaded, out['releases'][0]
    changed = cirros(group, server, tmp_path / 'cache')
    changed['rotate']['properties'] = {'hw_disk_bus': 'scsi'}
    out = status(cloud, tmp_path, [changed])[0]
    assert (out['releases'][0]['settled'], out['releases'][0]['reason']) == (False, 'rotation to do: reconcile')


def test_foreign_image_with_a_managed_name_is_named_in_a_warning(cloud, group, server, tmp_path):
    """Another project's image named exactly like the release's Latest, without the tag: warned about,
    never counted as the provider's (one Glance query for every Latest name, its in: operator)."""
    demo = cloud.connect('demo')
    squatter = demo.image.create_image(name=group.latest, visibility='community', disk_format='qcow2',
                                       container_format='bare')
    other = demo.image.create_image(name='%s, "quoted"' % group.latest, visibility='community', disk_format='qcow2',
                                    container_format='bare')
    try:
        out = status(cloud, tmp_path, [cirros(group, server, tmp_path / 'cache')])[0]
        warnings = [line for line in out['impostors'] if squatter.id in line]
        assert warnings == ["image %s (%r, community) of project %s carries the name of a managed release but is not "
                            "this provider's (tag managed_by_%s and owner %s): users looking it up by name may take it "
                            "for the provider's" % (squatter.id, group.latest, demo.current_project_id, group.provider,
                                                    group.admin.current_project_id)], out['impostors']
        assert not [line for line in out['impostors'] if other.id in line]
        assert out['releases'][0]['existing'] is None and out['releases'][0]['latest_since'] is None
    finally:
        demo.image.delete_image(squatter)
        demo.image.delete_image(other)
