"""Usage that cannot be checked deletes nothing, against the real catalog: RegionTwo has Glance but no Nova or Cinder."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import execute
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import lookup

PROVIDER, RELEASE, OWNER = 'usageunknown', 'ubuntu-24.04', 'project-of-the-provider'


def image(image_id, created_at, name, visibility):
    """A flat image dict as _image_query lists them (no Glance image needed: nothing is deleted)."""
    return {'id': image_id, 'name': name, 'status': 'active', 'visibility': visibility, 'os_hidden': False, 'protected': False,
            'tags': [_managed.managed_tag(PROVIDER)], 'created_at': created_at, 'owner': OWNER,
            'properties': _managed.identity(RELEASE, created_at[:10], 'sha256:' + '0' * 64)}


def test_region_without_compute_and_volume_endpoints_deletes_nothing(cloud):
    conn = cloud.connect('admin', 'RegionTwo')
    usage = lookup(conn, ['0' * 32])
    assert usage['unknown'] and not usage['complete']
    assert usage['reason'].startswith('usage unknown: no compute endpoint in the catalog for region RegionTwo, interface public')
    assert 'no volume endpoint' in usage['reason']
    # The planner keeps the old build, whatever require_all_projects_usage says ...
    latest = image('1' * 32, '2026-11-29T08:00:00Z', 'X - Latest', 'public')
    old = image('2' * 32, '2026-10-01T08:00:00Z', 'X - 2026-10-01', 'community')
    pol = Policy(PROVIDER, RELEASE, 'X', keep=1, delete_unused=True, require_all_projects_usage=False, owners=[OWNER])
    result = plan([latest, old], pol, datetime.now(timezone.utc), lookup(conn, [old['id']]))
    assert [k['reasons'] for k in result.kept if k['id'] == old['id']] == [['usage unknown, refusing to delete: ' + usage['reason']]]
    # ... and the executor refuses a delete planned elsewhere (the image id does not exist: nothing is sent to Glance).
    assert execute(conn, [{'action': 'delete', 'id': old['id'], 'patch': []}], require_complete_usage=False)[0].startswith(
        'refused: usage incomplete: usage unknown: no compute endpoint')
    # Stated by the operator: this region has neither service, so usage is known to be empty.
    assert lookup(conn, [old['id']], services=())['complete']
