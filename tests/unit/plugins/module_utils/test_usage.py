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

from ansible_collections.cloudimages.openstack.plugins.module_utils import _rotation_apply
from ansible_collections.cloudimages.openstack.plugins.module_utils._rotation import PlanError, Policy, plan
from ansible_collections.cloudimages.openstack.plugins.module_utils._usage import lookup
from rotation_sim import OWNERS, PROVIDER, RELEASE, image

NOW = '2026-11-30T12:00:00Z'


class FakeConn:
    def __init__(self, services, region='RegionTwo', interface='internal'):
        self.services = set(services)
        self.deleted = []
        self.config = types.SimpleNamespace(region_name=region, get_interface=lambda: interface)
        self.compute = types.SimpleNamespace(servers=lambda **kw: iter(()))
        self.block_storage = types.SimpleNamespace(volumes=lambda **kw: iter(()))
        self.image = types.SimpleNamespace(delete=self._delete)
        access = types.SimpleNamespace(role_names=['admin'])
        self.session = types.SimpleNamespace(auth=types.SimpleNamespace(get_access=lambda session: access))

    def has_service(self, name):
        return name in self.services

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
    pol = Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, keep=1, delete_unused=True, require_all_projects_usage=require_all)
    conn = FakeConn({'block-storage'})
    usage = lookup(conn, plan([latest, old], pol, NOW).usage_needed, pol.usage_services)
    result = plan([latest, old], pol, NOW, usage)
    assert not [a for a in result.actions if a['action'] == 'delete']
    assert result.kept[-1]['reasons'] == ['usage unknown, refusing to delete: ' + usage['reason']]
    # With the cloud's services stated, the same image is deleted.
    pol = Policy(PROVIDER, RELEASE, 'X', owners=OWNERS, keep=1, delete_unused=True, usage_services=['volume'])
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
