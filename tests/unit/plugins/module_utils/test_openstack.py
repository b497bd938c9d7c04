from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import AUTH_ARGSPEC, connect_kwargs


def params(**given):
    base = {name: spec.get('default') for name, spec in AUTH_ARGSPEC.items()}
    base.update(given)
    return base


def test_named_cloud_with_overrides():
    kwargs = connect_kwargs(params(cloud='prod1', region_name='RegionTwo', validate_certs=False, ca_cert='/ca.pem', api_timeout=30))
    assert kwargs == {'cloud': 'prod1', 'region_name': 'RegionTwo', 'verify': False, 'cacert': '/ca.pem',
                      'api_timeout': 30, 'interface': 'public'}


def test_no_cloud_leaves_environment_to_openstacksdk():
    assert connect_kwargs(params()) == {'interface': 'public'}


def test_cloud_dict_is_the_whole_configuration():
    cloud = {'auth': {'auth_url': 'http://127.0.0.1:5000/v3'}, 'region_name': 'RegionOne'}
    assert connect_kwargs(params(cloud=cloud)) == cloud
    assert connect_kwargs(params(cloud=cloud, region_name='RegionTwo'))['region_name'] == 'RegionTwo'


def test_cloud_dict_conflicts_with_auth():
    with pytest.raises(ValueError, match='auth'):
        connect_kwargs(params(cloud={'auth': {}}, auth={'username': 'x'}))


def test_secrets_are_no_log():
    assert AUTH_ARGSPEC['auth']['no_log'] is True
    assert AUTH_ARGSPEC['client_key']['no_log'] is True
