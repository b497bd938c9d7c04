"""A module's main() run in this process: what AnsibleModule gets and what Ansible reads back.

The modules here are small real AnsibleModule programs written for the test; the collection's own
modules run this way in every playbook test (tests/integration).
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudimages.openstack.plugins.plugin_utils._in_process import InProcess, module_of, run_main

INTERNAL = {'_ansible_check_mode': False, '_ansible_no_log': False, '_ansible_diff': False}


def module(main):
    return SimpleNamespace(main=main)


def echo():
    spec = dict(name=dict(type='str', required=True), password=dict(type='str', no_log=True), count=dict(type='int', default=1))
    ansible = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if ansible.params['count'] > 1:
        ansible.warn('%d copies' % ansible.params['count'])
    ansible.exit_json(changed=not ansible.check_mode, params=ansible.params, said='the password is %s' % ansible.params['password'])


def test_arguments_check_mode_and_secrets_reach_the_module():
    out = json.loads(run_main(module(echo), dict(INTERNAL, name='a', password='hunter2', count='3',
                                                 _ansible_check_mode=True)))
    assert out['params']['name'] == 'a' and out['params']['count'] == 3  # validated and converted
    assert out['changed'] is False  # check mode
    assert 'hunter2' not in json.dumps(out)  # no_log values masked in everything returned
    assert '3 copies' in json.dumps(out['warnings'])  # in the result, as a module returns it


def test_each_run_starts_without_the_warnings_of_the_one_before():
    run_main(module(echo), dict(INTERNAL, name='a', count=2))
    out = json.loads(run_main(module(echo), dict(INTERNAL, name='b')))
    assert out['params']['name'] == 'b'
    assert 'warnings' not in out


def test_invalid_arguments_fail_as_in_a_module_process():
    out = json.loads(run_main(module(echo), dict(INTERNAL, count=1)))
    assert out['failed'] is True
    assert out['msg'] == 'missing required arguments: name'


def test_an_exception_is_a_failed_result_with_its_traceback():
    def broken():
        raise ValueError('no such thing')

    out = json.loads(run_main(module(broken), dict(INTERNAL)))
    assert out['failed'] is True and out['msg'] == 'ValueError: no such thing'
    assert 'Traceback' in out['exception']


def test_the_collections_modules_are_found_and_unknown_ones_are_not():
    assert callable(module_of('image_upload').main)
    assert module_of('no_such_module') is None


@pytest.mark.parametrize('transport, become, async_val, python, here', [
    ('local', False, 0, None, True),  # the daily sync's: ansible-playbook's own Python
    ('local', False, 0, sys.executable, True),
    ('local', False, 0, 'auto_silent', True),
    ('ssh', False, 0, None, False),  # delegated to another host
    ('local', True, 0, None, False),  # as another user
    ('local', False, 30, None, False),  # async: a process that outlives the task
    ('local', False, 0, '/usr/bin/another-python3', False),
])
def test_the_module_runs_here_only_where_its_own_process_would_be_the_same(transport, become, async_val, python, here):
    action = InProcess.__new__(InProcess)
    action.MODULE = SimpleNamespace(main=None)
    action._connection = SimpleNamespace(transport=transport)
    action._play_context = SimpleNamespace(become=become)
    action._task = SimpleNamespace(async_val=async_val)
    action._templar = SimpleNamespace(template=lambda value: value)
    assert action._here({} if python is None else {'ansible_python_interpreter': python}) is here
