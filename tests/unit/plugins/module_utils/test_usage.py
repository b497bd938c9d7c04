"""Usage that cannot be checked means no deletion (_usage.lookup, the planner and the executor).

The real case (RegionTwo of the local cloud has neither Nova nor Cinder) is
tests/integration/test_usage_unknown.py. A fake connection stands in for openstacksdk here for
what the local catalog cannot show without disturbing other runs (one service without the other,
the interface in the message): it answers ``has_service`` like the SDK does for a region or
interface without that endpoint (False) and lists nothing.
"""

from __future__ import annotations

import types

import pytest
from keystoneauth1.exceptions import ConnectTimeout
from openstack import exceptions as sdk_exceptions

from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate import _rotation_apply
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import PlanError, Policy, plan
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import lookup
from rotation_sim import OWNERS, PROVIDER, RELEASE, image

NOW = '2026-11-30T12:00:00Z'


def server(server_id, image_id, status='ACTIVE', project='p2'):
    return types.SimpleNamespace(id=server_id, name='vm', project_id=project, status=status,
                                 image={'id': image_id} if image_id else '')


def volume(volume_id, image_id, status='available', project='p2'):
    return types.SimpleNamespace(id=volume_id, name='vol', project_id=project, status=status,
                                 volume_image_metadata={'image_id': image_id} if image_id else {})


class FakeConn:
    """Answers like Nova and Cinder do under a policy: ``nova_filters`` (allow_all_filters),
    ``nova_all`` (get_all_tenants), ``cinder_admin`` (context_is_admin); ``fail`` raises on listing."""

    def __init__(self, services, region='RegionTwo', interface='internal', servers=(), volumes=(),
                 nova_filters=True, nova_all=True, cinder_admin=True, fail=None):
        self.services = set(services)
        self.deleted = []
        self.current_project_id = 'p1'
        self.nova_filters, self.nova_all, self.cinder_admin, self.fail = nova_filters, nova_all, cinder_admin, fail
        self.all_servers, self.all_volumes = list(servers), list(volumes)
        self.cinder_version = 'volume 3.33'
        self.config = types.SimpleNamespace(region_name=region, get_interface=lambda: interface)
        self.compute = types.SimpleNamespace(servers=self._servers, get=self._nova_probe)
        self.block_storage = types.SimpleNamespace(volumes=self._volumes, get=self._cinder_probe)
        self.image = types.SimpleNamespace(delete=self._delete)

    def has_service(self, name):
        return name in self.services

    def _servers(self, details, all_projects=False, image=None, status=None, deleted_only=False):
        if self.fail:
            raise self.fail
        if all_projects and not self.nova_all:
            raise sdk_exceptions.ForbiddenException('403')
        deleted_only = deleted_only and self.nova_filters  # dropped silently without allow_all_filters
        found = [s for s in self.all_servers if (s.status in ('SOFT_DELETED', 'DELETED')) == bool(deleted_only)
                 and (all_projects or s.project_id == self.current_project_id)]
        # As the real Nova: with deleted, hard-deleted servers come whatever the status filter says.
        return iter([s for s in found if image in (None, (s.image or {}).get('id'))
                     and status in (None, s.status, 'SOFT_DELETED' if deleted_only else None)])

    def _volumes(self, details, all_projects=False):
        seen = all_projects and self.cinder_admin
        return iter([v for v in self.all_volumes if seen or v.project_id == self.current_project_id])

    def _nova_probe(self, path, raise_exc):
        assert 'services=' in path
        return types.SimpleNamespace(status_code=400 if self.nova_filters else 200,
                                     text='Invalid filter field: services.' if self.nova_filters else '{}')

    def _cinder_probe(self, path, microversion, raise_exc):
        assert 'all_tenants=1' in path and microversion == '3.33'
        return types.SimpleNamespace(status_code=200 if self.cinder_admin else 400,
                                     headers={'OpenStack-API-Version': self.cinder_version},
                                     text='{}' if self.cinder_admin else 'Invalid filters project_id are found')

    def _delete(self, path, **_retry):
        self.deleted.append(path.rsplit('/', 1)[1])
        return types.SimpleNamespace(status_code=204)


def test_all_services_present_is_complete():
    usage = lookup(FakeConn({'compute', 'block-storage'}), ['a'])
    assert usage['complete'] and not usage['unknown'] and usage['reason'] is None


@pytest.mark.parametrize('present, missing', [({'block-storage'}, 'compute'), ({'compute'}, 'volume'), (set(), 'compute')])
def test_missing_endpoint_makes_usage_unknown(present, missing):
    usage = lookup(FakeConn(present), ['a'])
    assert usage['unknown'] and not usage['complete']
    assert 'usage unknown: no %s endpoint in the catalog for region RegionTwo, interface internal' % missing in usage['reason']


def test_operator_states_the_services_the_cloud_has():
    usage = lookup(FakeConn({'block-storage'}), ['a'], services=('volume',))
    assert usage['complete'] and not usage['unknown']


def _group():
    latest = image('2026-11-29T08:00:00Z', name='X - Latest')
    old = image('2026-10-01T08:00:00Z', visibility='community', name='X - 2026-10-01')
    return latest, old


@pytest.mark.parametrize('require_all', [True, False])
def test_unknown_usage_plans_no_delete_even_without_require_all_projects_usage(require_all):
    latest, old = _group()
    pol = Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, keep=1, delete_unused=True, require_all_projects_usage=require_all,
                 demoted_grace_hours=0)
    conn = FakeConn({'block-storage'})
    usage = lookup(conn, plan([latest, old], pol, NOW).usage_needed, pol.usage_services)
    result = plan([latest, old], pol, NOW, usage)
    assert not [a for a in result.actions if a['action'] == 'delete']
    assert result.kept[-1]['reasons'] == ['usage unknown, refusing to delete: ' + usage['reason']]
    # With the cloud's services stated, the same image is deleted.
    pol = Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, keep=1, delete_unused=True, usage_services=['volume'],
                 demoted_grace_hours=0)
    usage = lookup(conn, [old['id']], pol.usage_services)
    assert [a['id'] for a in plan([latest, old], pol, NOW, usage).actions if a['action'] == 'delete'] == [old['id']]


def test_executor_refuses_a_delete_when_usage_became_unknown():
    _latest, old = _group()
    conn = FakeConn({'block-storage'})
    action = {'action': 'delete', 'id': old['id'], 'patch': []}
    outcomes = _rotation_apply.execute(conn, [action], require_complete_usage=False)
    assert outcomes[0].startswith('refused: usage incomplete: usage unknown: no compute endpoint') and not conn.deleted
    assert _rotation_apply.execute(conn, [action], usage_services=('volume',)) == ['done'] and conn.deleted == [old['id']]


def test_bad_usage_services():
    with pytest.raises(PlanError, match='usage_services must be a list of compute and volume'):
        Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, usage_services=['network'])


BOTH = {'compute', 'block-storage'}


def _users(usage, image_id='img'):
    entry = usage['images'][image_id]
    return sorted(s['id'] for s in entry['servers']) + sorted(v['id'] for v in entry['volumes'])


@pytest.mark.parametrize('ids', [['img'], ['img', 'other']])
def test_every_user_nova_can_bring_back_counts(ids):
    servers = [server('active', 'img'), server('soft', 'img', 'SOFT_DELETED'), server('shelved', 'img', 'SHELVED_OFFLOADED'),
               server('error', 'img', 'ERROR'), server('mine', 'img', project='p1'), server('else', 'other'),
               server('gone', 'img', 'DELETED')]
    usage = lookup(FakeConn(BOTH, servers=servers, volumes=[volume('vol', 'img')]), ids)
    assert usage['complete'] and not usage['pending']
    assert _users(usage) == ['active', 'error', 'mine', 'shelved', 'soft', 'vol']


def test_nova_without_allow_all_filters_is_incomplete_and_names_the_rule():
    conn = FakeConn(BOTH, servers=[server('soft', 'img', 'SOFT_DELETED')], nova_filters=False)
    usage = lookup(conn, ['img'])
    assert not usage['complete'] and not usage['unknown'] and _users(usage) == []
    assert 'os_compute_api:servers:allow_all_filters' in usage['reason'] and 'soft-deleted' in usage['reason']


def test_nova_refusing_all_tenants_is_incomplete_and_names_the_rule():
    usage = lookup(FakeConn(BOTH, servers=[server('mine', 'img', project='p1')], nova_all=False), ['img'])
    assert not usage['complete'] and _users(usage) == ['mine']
    assert 'os_compute_api:servers:detail:get_all_tenants' in usage['reason']


def test_cinder_under_another_admin_rule_is_incomplete_whatever_the_role_names():
    """context_is_admin: role:cloud_admin: the token has the admin role, Cinder drops all_tenants."""
    usage = lookup(FakeConn(BOTH, volumes=[volume('theirs', 'img')], cinder_admin=False), ['img'])
    assert not usage['complete'] and _users(usage) == []
    assert 'Cinder' in usage['reason'] and 'context_is_admin' in usage['reason']
    latest, old = _group()
    pol = Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, keep=1, delete_unused=True, demoted_grace_hours=0)
    usage = lookup(FakeConn(BOTH, cinder_admin=False), [old['id']])
    assert not [a for a in plan([latest, old], pol, NOW, usage).actions if a['action'] == 'delete']


@pytest.mark.parametrize('fail', [ConnectTimeout('Request to http://127.0.0.1/servers timed out'),
                                  sdk_exceptions.HttpException('Internal Server Error', http_status=500)])
def test_a_failing_or_hanging_service_makes_usage_unknown_not_an_error(fail):
    usage = lookup(FakeConn(BOTH, fail=fail), ['img'])
    assert usage['unknown'] and not usage['complete'] and usage['reason'].startswith('usage unknown: Nova could not be asked')


def test_users_in_flight_postpone_every_delete():
    latest, old = _group()
    pol = Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, keep=1, delete_unused=True, demoted_grace_hours=0)
    for conn in (FakeConn(BOTH, volumes=[volume('copying', None, 'downloading')]),
                 FakeConn(BOTH, volumes=[volume('new', None, 'creating')]),
                 FakeConn(BOTH, servers=[server('bfv', None, 'BUILD')])):
        usage = lookup(conn, [old['id']])
        assert usage['complete'] and len(usage['pending']) == 1
        result = plan([latest, old], pol, NOW, usage)
        assert not [a for a in result.actions if a['action'] == 'delete']
        assert result.kept[-1]['reasons'][0].startswith('deletes postponed while ')
        assert 'no image id visible yet' in result.kept[-1]['reasons'][0]
        action = {'action': 'delete', 'id': old['id'], 'patch': []}
        assert _rotation_apply.execute(conn, [action])[0].startswith('refused: deletes postponed') and not conn.deleted
    # Once the copy is done the volume names the image: it is a user, and nothing waits any more.
    usage = lookup(FakeConn(BOTH, volumes=[volume('done', old['id'])]), [old['id']])
    assert not usage['pending'] and _users(usage, old['id']) == ['done']


def test_a_cinder_that_ignores_the_microversion_proves_nothing():
    conn = FakeConn(BOTH, volumes=[volume('theirs', 'img')])
    conn.cinder_version = 'volume 3.0'
    usage = lookup(conn, ['img'])
    assert usage['unknown'] and 'microversion 3.33' in usage['reason']
