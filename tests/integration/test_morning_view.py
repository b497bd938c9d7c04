"""The morning view as the operator reads it: the exact text of the daily_sync's last table, under
the default callback (JSON, as AWX's job output shows it) and under result_format=yaml.

A real ansible-playbook run of cloudimages.openstack.daily_sync with no distribution (so no cloud
is contacted) and the report given as an extra var, which wins over the role's set_fact: the
table's text is then known to the character. Needs no local cloud.
"""

from __future__ import annotations

import json

import pytest

from playbook_runner import run_playbook


def record(name, build, outcome, age, eos, changes=0, failure=None):
    return {'key': name.lower().replace(' ', '-'), 'name': name, 'build': build, 'outcome': outcome,
            'changes': ['change'] * changes, 'latest_age_days': age, 'days_to_end_of_support': eos,
            'failure': failure}


REPORT = {'cloud': 'prod1', 'generated_at': '2026-12-02T05:11:33Z', 'check_mode': False, 'not_in_data': [],
          'available_not_synced': [], 'releases': [
              record('Ubuntu 24.04 Noble Numbat', '20261201', 'updated', 0.2, 911, changes=3),
              record('Debian 12 Bookworm', '20261116-2399', 'up to date', 16.4, 60),
              record('Debian 11 Bullseye', None, 'retired', None, -98),
              record('Debian 13 Trixie', '20261116-2398', 'failed', 22.0, 1301,
                     failure='Upload as a private candidate | Debian 13 Trixie: cannot create the image: HTTP 500')]}

TABLE = [
    'prod1, 2026-12-02T05:11:33Z',
    'release                    build          what happened        Latest age  end of support',
    'Ubuntu 24.04 Noble Numbat  20261201       updated (3 changes)  0 d         911 d',
    'Debian 12 Bookworm         20261116-2399  up to date           16 d        60 d (soon)',
    'retired (end of support passed):',
    'Debian 11 Bullseye         -              retired              -           ended 98 d ago',
    'FAILED:',
    'Debian 13 Trixie           20261116-2398  failed               22 d        1301 d',
    '  Debian 13 Trixie: Upload as a private candidate | Debian 13 Trixie: cannot create the image: HTTP 500']


def morning_view(tmp_path, result_format):
    (tmp_path / 'report.json').write_text(json.dumps({'image_sync_report': REPORT}))
    result = run_playbook('cloudimages.openstack.daily_sync', inventory='prod1,',
                          extra_vars={'cloudimages_hosts': 'prod1', 'cloudimages_distributions': []},
                          args=('-e', '@%s' % (tmp_path / 'report.json')),
                          env={'ANSIBLE_CALLBACK_RESULT_FORMAT': result_format})
    assert result.rc == 0, result.output
    task = result.output[result.output.index('TASK [Morning view of this cloud]'):]
    return task[task.index('\n') + 1:task.index('\n\n')]


@pytest.mark.parametrize('result_format', ['json', 'yaml'])
def test_morning_view_text(tmp_path, result_format):
    text = morning_view(tmp_path, result_format)
    if result_format == 'json':
        expected = ['ok: [prod1] => {', '    "msg": ['] + ['        %s,' % json.dumps(line) for line in TABLE]
        expected[-1] = expected[-1].rstrip(',')
        expected += ['    ]', '}']
    else:
        expected = ['ok: [prod1] => ', '    msg: |-'] + ['        ' + line for line in TABLE]
    assert text.splitlines() == expected, text
