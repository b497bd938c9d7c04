from __future__ import annotations

import json

import pytest

from keystoneauth1.exceptions import ConnectFailure, Unauthorized
from openstack.exceptions import SDKException

from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import (
    AUTH_ARGSPEC, OpenStackModule, connect_kwargs, login, public_cloud_values,
)


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
    assert AUTH_ARGSPEC['cloud']['no_log'] is True


def test_only_the_secrets_of_a_cloud_dict_stay_hidden():
    cloud = {'auth': {'auth_url': 'http://127.0.0.1:5000/v3', 'username': 'admin', 'password': 's3cret',
                      'project_name': 'admin', 'application_credential_id': 'ac-id',
                      'application_credential_secret': 'ac-secret', 'token': 'gAAAA-token'},
             'region_name': 'RegionOne', 'interface': 'public', 'verify': False, 'api_timeout': 30}
    public = public_cloud_values(params(cloud=cloud), AUTH_ARGSPEC)
    assert public == {'http://127.0.0.1:5000/v3', 'admin', 'RegionOne', 'public', '30'}
    assert not public & {'s3cret', 'ac-secret', 'gAAAA-token', 'ac-id'}


def test_a_value_that_is_also_a_secret_stays_hidden():
    cloud = {'auth': {'username': 'same', 'password': 'same', 'project_name': 'p'}}
    assert public_cloud_values(params(cloud=cloud), AUTH_ARGSPEC) == {'p'}
    spec = dict(AUTH_ARGSPEC, api_key=dict(type='str', no_log=True))
    assert public_cloud_values(params(cloud={'region_name': 'k'}, api_key='k'), spec) == set()


def test_a_cloud_name_is_no_secret():
    assert public_cloud_values(params(cloud='prod1'), AUTH_ARGSPEC) == {'prod1'}
    assert public_cloud_values(params(), AUTH_ARGSPEC) == set()


class _Session:
    def __init__(self, failures, error=ConnectFailure('Remote end closed connection without response')):
        self.failures, self.error, self.calls = failures, error, 0

    def get_token(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return 'token'


class _Conn:
    """openstacksdk's Connection as login sees it (a session, authorize): Keystone cannot be made
    to drop a connection on demand, so the session stands in for it."""

    def __init__(self, failures):
        self.session = _Session(failures)

    def authorize(self):
        return self.session.get_token()


def test_login_tries_a_dropped_connection_again():
    conn, waits = _Conn(failures=2), []
    assert login(conn, sleep=waits.append) == 'token'
    assert conn.session.calls == 3 and waits == [2, 4]


def test_login_gives_up_with_the_last_error():
    conn = _Conn(failures=3)
    with pytest.raises(ConnectFailure):
        login(conn, sleep=lambda _s: None)
    assert conn.session.calls == 3


def test_a_refused_login_is_final_and_an_sdk_error():
    # Wrong credentials are not retried, and fail the module cleanly (SDKException, as openstacksdk's own).
    conn = _Conn(failures=3)
    conn.session.error = Unauthorized('The request you have made requires authentication.')
    with pytest.raises(SDKException, match='requires authentication'):
        login(conn, sleep=lambda _s: None)
    assert conn.session.calls == 1


class _Module(OpenStackModule):
    """A module past argument parsing: what __call__ does with the connection is under test."""

    def __init__(self, conn, needs_login):  # pylint: disable=super-init-not-called
        self.conn, self.needs_login, self.tokens_at_run = conn, needs_login, None

    def run(self):
        self.tokens_at_run = self.conn.session.calls


@pytest.mark.parametrize('needs_login, logins', [(True, 1), (False, 0)])
def test_a_module_logs_in_through_login_unless_it_reuses_a_state(needs_login, logins):
    # Without a reusable auth_state the login is login()'s, with its retries, before run() starts.
    module = _Module(_Conn(failures=0), needs_login)
    module()
    assert module.tokens_at_run == logins


def _silent_listener():
    """A loopback socket that accepts connections (the kernel's backlog) and never answers, like a stopped nova-api."""
    import socket
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    return listener


@pytest.mark.parametrize('configured, expected', [(None, 1.0), (0.5, 0.5)])
def test_every_request_has_a_timeout(monkeypatch, configured, expected):
    import time

    import openstack
    from keystoneauth1.exceptions import ConnectTimeout

    from ansible_collections.cloudimages.openstack.plugins.module_utils import _openstack

    monkeypatch.setattr(_openstack, 'API_TIMEOUT', 1)
    listener = _silent_listener()
    try:
        url = 'http://127.0.0.1:%d/' % listener.getsockname()[1]
        extra = {} if configured is None else {'api_timeout': configured}
        conn = openstack.connect(auth_type='none', auth={'endpoint': url}, load_yaml_config=False, load_envvars=False,
                                 **extra)
        _openstack.bound_requests(conn)
        assert conn.session.timeout == expected
        start = time.monotonic()
        with pytest.raises(ConnectTimeout):
            conn.session.get(url, connect_retries=0)
        assert time.monotonic() - start < expected + 5
    finally:
        listener.close()


class FakeConn:
    """A connection as SharedLogins sees it: its resolved configuration and the token it was given."""

    def __init__(self, params):
        self.config = type('Config', (), {'config': {'auth_type': 'password', 'auth': dict(params['cloud']['auth']),
                                                     'region_name': params['cloud']['region_name']}})()
        self.state = None


def shared_logins(monkeypatch):
    from ansible_collections.cloudimages.openstack.plugins.module_utils import _openstack
    logins = []

    def export(conn):
        logins.append(conn.config.config['region_name'])
        conn.state = 'token-%d' % len(logins)
        return json.dumps({'state': conn.state, 'login_key': _openstack._login_key(conn)})

    def reuse(conn, state):
        exported = json.loads(state)
        if exported['login_key'] != _openstack._login_key(conn):  # stands for the identity check
            return False
        conn.state = exported['state']
        return True
    monkeypatch.setattr(_openstack, 'connect', FakeConn)
    monkeypatch.setattr(_openstack, 'export_auth_state', export)
    monkeypatch.setattr(_openstack, 'reuse_auth_state', reuse)
    return _openstack.SharedLogins(), logins


def region(name, password='demo-secret', user='demo'):
    return dict(params(cloud={'auth': {'auth_url': 'http://127.0.0.1:5000/v3', 'username': user, 'password': password},
                              'region_name': name}))


def test_the_regions_of_a_cloud_share_one_login(monkeypatch):
    logins_for, logins = shared_logins(monkeypatch)
    conns = [logins_for(region('Region%d' % n)) for n in range(1, 21)]
    assert logins == ['Region1'] and {conn.state for conn in conns} == {'token-1'}


def test_other_credentials_log_in_themselves(monkeypatch):
    """Another password for the same user is not rescued by the first one's token (it fails alone)."""
    logins_for, logins = shared_logins(monkeypatch)
    first, wrong, other = (logins_for(region('RegionOne')), logins_for(region('RegionOne', password='wrong')),
                           logins_for(region('RegionOne', user='admin')))
    assert logins == ['RegionOne'] * 3 and [first.state, wrong.state, other.state] == ['token-1', 'token-2', 'token-3']


def test_secret_values_are_the_secrets_of_the_no_log_options_only():
    from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import secret_values
    given = params(cloud={'auth': {'username': 'demo', 'password': 'demo-secret'}, 'region_name': 'Region3'},
                   auth_state='state-token', region_name='Region3')
    assert secret_values(given, AUTH_ARGSPEC) == {'demo-secret', 'state-token'}
