"""The auth module's session is reused by later modules, for the same identity only (real Keystone)."""

from __future__ import annotations

import copy

import yaml

from playbook_runner import run_playbook


def test_session_reused_for_same_identity_only(cloud):
    clouds = yaml.safe_load(open(cloud.clouds_yaml, encoding='utf-8'))['clouds']
    good = clouds['admin']
    wrong = copy.deepcopy(good)
    wrong['auth']['password'] = 'not-the-password'
    other = copy.deepcopy(clouds['demo'])
    other['auth']['password'] = 'not-the-password'
    result = run_playbook('auth.yml', env=cloud.env(), extra_vars={'good': good, 'wrong': wrong, 'other': other})
    assert result.rc == 0, result.output
    assert result.recap['localhost']['failed'] == 0
    # no_log on the login task: the session (a bearer token) never reaches the output.
    assert 'auth_token' not in result.output and 'admin-secret' not in result.output
