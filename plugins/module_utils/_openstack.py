# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""One base for every module that talks to OpenStack.

Subclasses declare ``argument_spec`` and ``module_kwargs`` and implement ``run()``;
the base merges the shared authentication options, connects with openstacksdk and
turns SDK errors into one clear ``fail_json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.cloudimages.openstack.plugins.module_utils._process import NO_GUARD, Cancelled, Guard

try:
    import openstack
    from keystoneauth1.exceptions import ClientException, ConnectFailure
    from openstack import exceptions as sdk_exceptions
except ImportError:
    openstack = None
    sdk_exceptions = None
    SDK_IMPORT_ERROR = traceback.format_exc()
else:
    SDK_IMPORT_ERROR = None

# The one retry policy for OpenStack APIs, keystoneauth's own: a repeatable request (GET, DELETE, an
# action whose repetition changes nothing) is retried on connection errors and on the 5xx of a busy
# or restarting service; a write (create, upload, PATCH) never is: it could happen twice.
RETRY_IDEMPOTENT = dict(connect_retries=3, status_code_retries=3, retriable_status_codes=[500, 502, 503, 504])
NO_RETRY = dict(connect_retries=0, status_code_retries=0)
# The one timeout of an OpenStack request (seconds without an answer), unless api_timeout or clouds.yaml
# sets one: a service that accepts connections but never answers fails that step, never the whole job.
API_TIMEOUT = 120


def bound_requests(conn):
    """Give the session API_TIMEOUT when neither api_timeout nor clouds.yaml set a timeout."""
    if conn.session.timeout is None:
        conn.session.timeout = float(API_TIMEOUT)


# Names as in openstack.cloud's doc fragment (plugins/doc_fragments/openstack.py here).
# cloud is no_log: as a dict it holds passwords and application-credential secrets. Ansible would then
# hide every one of its values (a region, "public", the cloud's name) wherever it appears in a result;
# OpenStackModule gives back those that are not secrets (see public_cloud_values).
AUTH_ARGSPEC = dict(
    cloud=dict(type='raw', no_log=True),
    auth=dict(type='dict', no_log=True),
    auth_type=dict(type='str'),
    region_name=dict(type='str'),
    interface=dict(type='str', default='public', choices=['admin', 'internal', 'public'], aliases=['endpoint_type']),
    validate_certs=dict(type='bool', aliases=['verify']),
    ca_cert=dict(type='path', aliases=['cacert']),
    client_cert=dict(type='path', aliases=['cert']),
    client_key=dict(type='path', no_log=True, aliases=['key']),
    api_timeout=dict(type='int'),
    timeout=dict(type='int', default=180),
    auth_state=dict(type='str', no_log=True),
)

# Module option -> openstacksdk connect() keyword.
_CONNECT_KEYWORDS = dict(
    auth='auth', auth_type='auth_type', region_name='region_name', interface='interface',
    validate_certs='verify', ca_cert='cacert', client_cert='cert', client_key='key', api_timeout='api_timeout',
)


def connect_kwargs(params):
    """Translate module parameters into openstacksdk ``connect()`` keywords.

    A ``cloud`` dict is a complete configuration of its own, so it excludes the other
    authentication options (openstack.cloud behaves the same way).
    """
    cloud = params.get('cloud')
    if isinstance(cloud, dict):
        conflicting = sorted(k for k in ('auth', 'auth_type') if params.get(k) is not None)
        if conflicting:
            raise ValueError('cloud is a dict, so it must hold the whole configuration; do not also set %s'
                             % ', '.join(conflicting))
        kwargs = dict(cloud)
        if params.get('region_name') is not None:
            kwargs['region_name'] = params['region_name']
        return kwargs
    kwargs = {sdk: params[opt] for opt, sdk in _CONNECT_KEYWORDS.items() if params.get(opt) is not None}
    if cloud is not None:
        kwargs['cloud'] = str(cloud)
    return kwargs


# What names the identity a token stands for; secrets are left out, so a state outlives nothing.
_IDENTITY = (
    'auth_url', 'username', 'user_id', 'user_domain_name', 'user_domain_id', 'project_name', 'project_id',
    'project_domain_name', 'project_domain_id', 'domain_name', 'domain_id', 'system_scope',
    'application_credential_id', 'application_credential_name',
)


def _identity_key(conn):
    config = conn.config.config
    auth = config.get('auth') or {}
    named = [config.get('auth_type'), {name: auth.get(name) for name in _IDENTITY}]
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()


LOGIN_ATTEMPTS = 3


def login(conn, attempts=LOGIN_ATTEMPTS, sleep=time.sleep):
    """Log in; a login can be repeated, so a connection Keystone refused or dropped (busy or
    restarting) is tried again: one lost connection must not cost a cloud its daily run."""
    for attempt in range(1, attempts):
        try:
            return conn.session.get_token()
        except ConnectFailure:
            sleep(2 * attempt)
        except ClientException as exc:  # refused (wrong credentials...): final, in openstacksdk's words
            raise sdk_exceptions.SDKException(str(exc)) from None
    return conn.authorize()  # the last try, with openstacksdk's error


def export_auth_state(conn):
    """Log in (once) and return the session's state: keystoneauth's token and catalog, for reuse_auth_state.

    One token serves every module run of a cloud in a run (any region: the catalog has them all),
    which spares Keystone a login per module and Glance/Nova a token validation per module.
    """
    login(conn)
    return json.dumps({'identity': _identity_key(conn), 'state': conn.session.auth.get_auth_state()})


def reuse_auth_state(conn, auth_state):
    """Install an exported state when it was made for this very identity; True when it was.

    A state of another user, project or Keystone is ignored (the module logs in by itself), so a
    mix-up can never act on another cloud. keystoneauth logs in again when the token nears expiry.
    """
    try:
        exported = json.loads(auth_state)
        if exported['identity'] != _identity_key(conn):
            return False
        conn.session.auth.set_auth_state(exported['state'])
    except (ValueError, TypeError, KeyError, AttributeError):
        return False
    return True


def connect(params):
    """openstacksdk's connection for module ``params`` (AUTH_ARGSPEC), with API_TIMEOUT; not logged in."""
    conn = openstack.connect(app_name='cloudimages.openstack', **connect_kwargs(params))
    bound_requests(conn)
    return conn


def _login_key(conn):
    """What a login depends on, secrets included (in memory only): connections with equal keys differ
    at most in their region, so one token serves them all."""
    config = conn.config.config
    named = [config.get('auth_type'), config.get('auth') or {}]
    return hashlib.sha256(json.dumps(named, sort_keys=True, default=str).encode()).hexdigest()


class SharedLogins:
    """Connections for many clouds or regions in one process, one login per set of credentials: the
    regions of a cloud share its token (its catalog names them all), as modules do through
    ``auth_state``. A cloud with other credentials for the same user logs in itself."""

    def __init__(self):
        self._states, self._locks = {}, {}
        self._lock = threading.Lock()

    def __call__(self, params):
        """The logged-in connection for ``params``; SDKException or ValueError as connect and login raise them."""
        conn = connect(params)
        if params.get('auth_state') and reuse_auth_state(conn, params['auth_state']):
            return conn
        key = _login_key(conn)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the first region logs in, the others wait for its token
            if key not in self._states or not reuse_auth_state(conn, self._states[key]):
                self._states[key] = export_auth_state(conn)
        return conn


# Keys of a clouds.yaml entry (at any depth) whose values are secrets: password, passcode,
# application_credential_secret, token, access_token, client_secret, totp, private key...
_SECRET_KEY = re.compile(r'pass|secret|token|totp|key|credential', re.I)


def _leaves(value, secret_key=None, parent=''):
    """The string forms of the scalar leaves of ``value``; only under secret keys, or only elsewhere."""
    if isinstance(value, dict):
        return set().union(*(_leaves(v, secret_key, str(k)) for k, v in value.items())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_leaves(v, secret_key, parent) for v in value)) if value else set()
    if value is None or isinstance(value, bool) or value == '':
        return set()
    if secret_key is not None and bool(_SECRET_KEY.search(parent)) != secret_key:
        return set()
    return {str(value)}


def public_cloud_values(params, argument_spec):
    """Values no_log hid only because ``cloud`` carries them, and which are not secrets.

    The cloud's name, its region, interface, auth_url, user and project names stay visible in
    results; every value under a secret-looking key, and every value of another no_log option,
    stays hidden.
    """
    cloud = params.get('cloud')
    public = {str(cloud)} if isinstance(cloud, str) and cloud else _leaves(cloud, secret_key=False)
    hidden = _leaves(cloud, secret_key=True)
    for name, spec in argument_spec.items():
        if name != 'cloud' and spec.get('no_log'):
            hidden |= _leaves(params.get(name))
    return public - hidden


def secret_values(params, argument_spec):
    """The values of the no_log options of ``params`` that stay hidden (see public_cloud_values)."""
    found = set()
    for name, spec in argument_spec.items():
        if spec.get('no_log'):
            found |= _leaves(params.get(name))
    return found - public_cloud_values(params, argument_spec)


class OpenStackModule:
    """Base class: subclasses set ``argument_spec``/``module_kwargs`` and implement ``run()``."""

    argument_spec = {}
    module_kwargs = {}
    cancellable = False  # True: SIGTERM, SIGINT or a vanished controller cancel it (_process.Guard)
    guard = NO_GUARD

    def __init__(self):
        spec = dict(AUTH_ARGSPEC, **self.argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, **self.module_kwargs)
        self.ansible.no_log_values.difference_update(public_cloud_values(self.ansible.params, spec))
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        if SDK_IMPORT_ERROR:
            self.ansible.fail_json(msg=missing_required_lib('openstacksdk'), exception=SDK_IMPORT_ERROR)
        if not self.connects():
            self.conn, self.needs_login = None, False
            return
        try:
            self.conn = connect(self.params)
        except (ValueError, sdk_exceptions.SDKException) as exc:
            self.ansible.fail_json(msg='Cannot configure the OpenStack connection: %s' % exc)
        state = self.params['auth_state']
        self.needs_login = not (state and reuse_auth_state(self.conn, state))

    def connects(self):
        """Whether this run connects with the module's own options (a module that connects to many
        clouds itself says no)."""
        return True

    def run(self):
        raise NotImplementedError

    def exit_json(self, **kwargs):
        self.ansible.exit_json(**kwargs)

    def fail_json(self, **kwargs):
        self.ansible.fail_json(**kwargs)

    def __call__(self):
        if self.cancellable:
            self.guard = Guard().install()
        try:
            if self.needs_login:
                login(self.conn)  # now, with login's retries; openstacksdk's lazy login has none
            self.run()
        except sdk_exceptions.SDKException as exc:
            details = dict(msg=str(exc), exception=traceback.format_exc())
            response = getattr(exc, 'response', None)
            if response is not None:
                details['status_code'] = response.status_code
                details['request_id'] = getattr(exc, 'request_id', None)
            self.fail_json(**details)
        except Cancelled as exc:
            self.fail_json(msg=str(exc))
