"""No secret reaches ansible-playbook's output, even with -vvv and registered results shown (real Keystone)."""

from __future__ import annotations

import uuid

from playbook_runner import run_playbook


def test_no_secret_in_verbose_output(cloud):
    demo = cloud.connect('demo')
    token = demo.session.get_token()
    secret = 'appcred-%s' % uuid.uuid4().hex
    credential = demo.identity.create_application_credential(
        user=demo.current_user_id, name='secrets-in-output-%s' % uuid.uuid4().hex[:8], secret=secret)
    wrong = 'wrong-%s' % uuid.uuid4().hex
    try:
        result = run_playbook('secrets_in_output.yml', env=cloud.env(), args=['-vvv'], extra_vars={
            'auth_url': demo.auth['auth_url'], 'password': 'demo-secret', 'wrong_password': wrong,
            'app_cred_id': credential.id, 'app_cred_secret': secret, 'token': token})
    finally:
        demo.identity.delete_application_credential(demo.current_user_id, credential.id, ignore_missing=True)
    assert result.rc == 0, result.output
    for value in ('demo-secret', secret, token, wrong):
        assert value not in result.output, value
    # Only the secrets are hidden: the results still say which cloud and region they came from.
    assert '"cloud": "demo"' in result.output and '"region_name": "RegionOne"' in result.output
    assert '"application_credential_id": "%s"' % credential.id not in result.output  # under a secret-looking key
