"""Promotion against the real local Glance: never two Latest, kills between its steps, killed uploads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import plan
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import execute, list_group
from playbook_runner import playbook_command
from rotation_helpers import Group, tiny_qcow2
from upload_support import base_args, delete_image, identity_images, module_command, module_env, result_of


@pytest.fixture
def group(cloud, tmp_path):
    made = Group(cloud, tiny_qcow2(tmp_path))
    yield made
    made.cleanup()


class Poller(threading.Thread):
    """A plain member asking Glance for the images named ``name`` as fast as it answers."""

    def __init__(self, conn, name):
        super().__init__(daemon=True)
        self.conn, self.name, self.seen, self.done = conn, name, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            started = time.monotonic()
            found = self.conn.image.get('/images', params={'name': self.name}).json()['images']
            self.seen.append((started, time.monotonic(), len(found)))

    def gaps(self):
        """Durations (s) without a latest: from the last answer with one to the first request that found one again."""
        gaps, last_one = [], None
        for started, answered, count in self.seen:
            if count == 1 and last_one is not None and last_one[1] is not None:
                gaps.append(started - last_one[0])
            if count == 1:
                last_one = (answered, None)
            elif last_one is not None:
                last_one = (last_one[0], started)
        return gaps


def test_a_member_polling_many_promotions_never_sees_two_latest(cloud, group):
    group.run(candidate=group.candidate())
    poller = Poller(cloud.connect('demo'), group.latest)
    poller.start()
    promotions = 12
    try:
        for _promotion in range(promotions):
            candidate = group.candidate()
            _result, outcomes = group.run(candidate=candidate, keep=1, delete_unused=True)
            assert outcomes[:2] == ['done', 'done']
    finally:
        poller.done.set()
        poller.join()
    counts = [count for _s, _a, count in poller.seen]
    assert max(counts) == 1, 'two images named %r at once' % group.latest
    gaps = poller.gaps()
    print('\n%d polls during %d promotions; %d seen without a latest; windows without: %s ms' % (
        len(counts), promotions, counts.count(0), ', '.join('%.0f' % (gap * 1000) for gap in gaps)))


def test_a_kill_between_demotion_and_promotion_leaves_a_valid_catalog_and_the_next_run_converges(cloud, group):
    old = group.candidate()
    group.run(candidate=old)
    new = group.candidate()
    _result, outcomes = group.run(candidate=new, stop_after=1)  # killed right after the first PATCH
    assert outcomes == ['done']
    member = cloud.connect('demo')
    named = member.image.get('/images', params={'name': group.latest}).json()['images']
    assert named == []  # no duplicate; the previous build is still there under its dated name
    assert group.images()[old]['visibility'] == 'community'
    _result, outcomes = group.run(candidate=new)
    named = member.image.get('/images', params={'name': group.latest}).json()['images']
    assert [image['id'] for image in named] == [new]


def test_a_run_without_candidate_between_anothers_demotion_and_promotion_makes_no_second_latest(cloud, group):
    """Run one demotes the latest for its candidate; run two, without a candidate (a rotation only),
    plans and applies before run one's promotion, which then makes the only latest."""
    old = group.candidate()
    group.run(candidate=old)
    new = group.candidate()
    one, outcomes = group.run(candidate=new, stop_after=1)  # run one, paused after its demotion
    assert outcomes == ['done'] and one.actions[1]['action'] == 'promote'
    two, _outcomes = group.run()
    assert execute(group.admin, one.actions[1:2]) == ['done']  # run one goes on
    member = cloud.connect('demo')
    named = member.image.get('/images', params={'name': group.latest}).json()['images']
    assert [image['id'] for image in named] == [new]
    # Run two left the demoted version as it was, and said why.
    assert two.latest is None and all(a['action'] == 'keep' for a in two.actions), two.actions
    assert any('candidate %s waits' % new in warning for warning in two.warnings), two.warnings


# image_rotate as Ansible runs it, in its own process; the other run promotes its candidate the moment
# this one's promotion is done (before its check), a gap no test could otherwise hit on purpose.
OTHER_RUN_PROMOTES = """
import json, os
from ansible_collections.cloudimages.openstack.plugins.modules import image_rotate

def execute(conn, actions, *args, **kwargs):
    outcomes = real(conn, actions, *args, **kwargs)
    with open(os.environ['OTHER_RUN'], encoding='utf-8') as handle:
        real(conn, json.load(handle))
    return outcomes

real, image_rotate.execute = image_rotate.execute, execute
image_rotate.main()
"""


def test_two_runs_with_their_own_candidates_planning_in_the_same_gap_leave_one_latest(cloud, group, tmp_path):
    """A cron run and an AWX run, each with its own new build, plan before either promotes. Each demotes
    the old Latest and promotes its own; image_rotate, checking after its promotion, sees both and
    keeps the newest. Without the check both stay named Latest until the next run."""
    old = group.candidate()
    group.run(candidate=old)
    mine, other = group.candidate(), group.candidate()
    pol = group.policy(candidate=other)
    images = list_group(group.admin, group.provider, group.release_key, group.owners, extra_ids=[other])
    theirs = plan(images, pol, datetime.now(timezone.utc)).actions  # the other run plans in the gap
    assert [action['action'] for action in theirs[:2]] == ['demote', 'promote']
    (tmp_path / 'other.json').write_text(json.dumps(theirs[:2]))
    policy = dict(provider=group.provider, release_key=group.release_key, name=group.name, demoted_grace_hours=0)
    args = dict(cloud='admin', candidate=mine, policy=policy)
    command = [sys.executable, '-c', OTHER_RUN_PROMOTES] + module_command(tmp_path, args)[3:]
    proc = subprocess.run(command, env=dict(module_env(cloud), OTHER_RUN=str(tmp_path / 'other.json')),
                          capture_output=True, text=True, timeout=300, check=False)
    result = result_of(proc.stdout + '\n')
    assert proc.returncode == 0, result
    named = cloud.connect('demo').image.get('/images', params={'name': group.latest}).json()['images']
    assert [image['id'] for image in named] == [other]
    assert result['latest'] == other and result['changed']
    assert [(a['action'], a['id'], a['result']) for a in result['plan'] if a['action'] == 'demote'][-1] == (
        'demote', mine, 'done')
    assert any('another run promoted its own candidate' in warning for warning in result['warnings_list'])
    now = group.images()
    assert [now[i]['visibility'] for i in (old, mine, other)] == ['community', 'community', 'public']
    assert not group.run()[0].changed  # the next run agrees


def big_file(tmp_path, mib=384):
    path = tmp_path / 'big.raw'
    with open(path, 'wb') as handle:
        for _mib in range(mib):
            handle.write(os.urandom(1 << 20))
    return path


def wait_for_status(conn, provider, status, present=True, timeout=120):
    deadline = time.monotonic() + timeout
    while bool([i for i in identity_images(conn, provider) if i.status == status]) != present:
        assert time.monotonic() < deadline, 'no image of %s %s %s' % (provider, 'became' if present else 'left', status)
        time.sleep(0.05)


def test_killing_ansible_playbooks_process_group_stops_the_upload_it_runs(cloud, tmp_path):
    """ansible-core runs the module in a session of its own: the kill does not reach it, the module notices."""
    admin = cloud.connect('admin')
    provider = 'cancel%s' % os.urandom(4).hex()
    args = base_args(provider, str(big_file(tmp_path)))
    cmd, env = playbook_command('image_upload_cancel.yml', env=module_env(cloud), extra_vars=dict(upload_args=args))
    playbook = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_status(admin, provider, 'saving')
        os.killpg(playbook.pid, signal.SIGKILL)  # what an operator's kill -9 of the job does
        killed = time.monotonic()
        playbook.wait()
        deadline = killed + 60
        while identity_images(admin, provider):  # the cancelled module deletes the image it created
            left = identity_images(admin, provider)
            assert time.monotonic() < deadline, 'still there: %s' % [(i.id, i.status) for i in left]
            assert [i.status for i in left] != ['active'], 'the module ran on and finished the upload'
            time.sleep(0.1)
        print('\nupload stopped and its image deleted %.1f s after the kill' % (time.monotonic() - killed))
    finally:
        if playbook.poll() is None:
            os.killpg(playbook.pid, signal.SIGKILL)
        for image in identity_images(admin, provider):
            delete_image(admin, image.id)


def test_a_killed_uploads_queued_candidate_is_replaced_by_an_immediate_rerun(cloud, tmp_path):
    """kill -9 of image_upload during its PUT leaves the candidate queued; the rerun does not wait for it."""
    admin = cloud.connect('admin')
    path = big_file(tmp_path)
    provider = 'kill%s' % os.urandom(4).hex()
    args = dict(base_args(provider, str(path), cloud='admin'), disk_format='raw', min_disk=1, wait_timeout=120)
    env = module_env(cloud)
    try:
        module = subprocess.Popen(module_command(tmp_path, args), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_status(admin, provider, 'saving')
        os.killpg(module.pid, signal.SIGKILL)
        module.wait()
        wait_for_status(admin, provider, 'saving', present=False, timeout=60)  # Glance notices the lost client
        left = identity_images(admin, provider)
        assert [i.status for i in left] == ['queued'] and left[0].properties.get(_managed.RUN)
        started = time.monotonic()
        rerun = subprocess.run(module_command(tmp_path, args), env=env, capture_output=True, text=True, timeout=300,
                               check=False)
        took = time.monotonic() - started
        result = result_of(rerun.stdout + '\n')
        assert rerun.returncode == 0, result
        assert result['created'] and result['deleted'] == [left[0].id]
        assert result['image']['status'] == 'active' and took < 120  # not the 120 s wait_timeout, nor 6 h
        print('\nrerun replaced the queued candidate and uploaded in %.1f s' % took)
    finally:
        for image in identity_images(admin, provider):
            delete_image(admin, image.id)
