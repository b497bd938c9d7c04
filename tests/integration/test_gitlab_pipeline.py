"""The GitOps example: examples/gitlab-ci.yml's jobs run for real, as GitLab would.

Each script line of the ``plan`` job (merge requests) and then of the ``sync`` job (scheduled, on
main) runs in ``bash -eo pipefail`` (GitLab Runner's bash shell) in a project directory holding
the inventory, against the local cloud and mirror. GitLab's notes API
is a stand-in on 127.0.0.1 that records the POST (there is no GitLab here). The first line of
``before_script`` (``ansible-galaxy collection install`` from Galaxy) needs the internet and is
skipped: the collection comes from the working tree.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml

from sync_inventory import write_inventory
from sync_support import REGIONS, delete_managed, managed_images

ROOT = Path(__file__).resolve().parents[2]


class NotesAPI(http.server.BaseHTTPRequestHandler):
    notes = []

    def do_POST(self):  # pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.notes.append({'path': self.path, 'token': self.headers.get('PRIVATE-TOKEN'),
                           'body': urllib.parse.parse_qs(body.decode())['body'][0]})
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def gitlab():
    server = http.server.HTTPServer(('127.0.0.1', 0), NotesAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    NotesAPI.notes = []
    try:
        yield 'http://127.0.0.1:%d/api/v4' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_job(pipeline, job, project, env):
    """Each script line of ``job`` as GitLab Runner's bash shell runs it, in the project directory."""
    for line in pipeline[job]['script']:
        proc = subprocess.run(['bash', '-eo', 'pipefail', '-c', line], cwd=project, env=env, capture_output=True, text=True,
                              timeout=900, check=False)
        if proc.returncode:  # pytest.fail: the whole output, where an assert's would be cut
            failed = [text for text in proc.stdout.splitlines() if text.startswith(('fatal:', 'failed:'))]
            pytest.fail('%s job: %s exited %d\n%s\n%s\n%s' % (
                job, line, proc.returncode, '\n'.join(failed), proc.stdout[-6000:], proc.stderr[-3000:]))


@pytest.fixture
def reader_clouds_yaml(cloud):
    """CLOUDS_YAML_READER: the inventory's cloud (admin) as a user with the reader role only, in its project."""
    admin = cloud.connect('admin')
    password = uuid.uuid4().hex
    user = admin.identity.create_user(name='gitops-reader-%s' % uuid.uuid4().hex[:8], password=password, domain_id='default')
    project = admin.identity.find_project('admin', domain_id='default', ignore_missing=False)
    admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role('reader', ignore_missing=False))
    clouds = yaml.safe_load(Path(cloud.env()['OS_CLIENT_CONFIG_FILE']).read_text())
    entry = clouds['clouds']['admin']
    entry['auth'] = dict(entry['auth'], username=user.name, password=password)
    try:
        yield yaml.safe_dump({'clouds': {'admin': entry}})
    finally:
        admin.identity.delete_user(user, ignore_missing=True)


def test_merge_request_plan_then_scheduled_sync(cloud, upstream, server, gitlab, tmp_path, reader_clouds_yaml):
    pipeline = yaml.safe_load((ROOT / 'examples' / 'gitlab-ci.yml').read_text())
    project, home = tmp_path / 'project', tmp_path / 'home'
    project.mkdir()
    home.mkdir()
    # The inventory of the GitOps repository: the local clouds, the mirror, nothing synced yet. Two
    # releases: this test is about the pipeline (test_daily_sync.py syncs every distribution).
    provider = 'gitops' + uuid.uuid4().hex[:8]
    write_inventory(project / 'inventory', upstream.mirror, server, provider, tmp_path / 'cache', upstream.mirror.today,
                    boot_test=False, region_one={'cloudimages_distributions': ['cirros', 'debian'], 'debian_enabled': ['13']},
                    region_two={'cloudimages_distributions': ['cirros']})
    env = {key: value for key, value in os.environ.items() if key != 'OS_CLIENT_CONFIG_FILE'}
    env.update(HOME=str(home), PATH='%s:%s' % (Path(sys.executable).parent, os.environ['PATH']), ANSIBLE_NOCOLOR='1',
               PLAN_BOT_TOKEN='secret-token', CI_API_V4_URL=gitlab, CI_PROJECT_ID='42', CI_PROJECT_DIR=str(project))
    admin_yaml = Path(cloud.env()['OS_CLIENT_CONFIG_FILE']).read_text()
    admin_password = yaml.safe_load(admin_yaml)['clouds']['admin']['auth']['password']
    clouds_yaml = home / '.config' / 'openstack' / 'clouds.yaml'
    assert pipeline['default']['before_script'] == ['ansible-galaxy collection install -r requirements.yml']  # no credentials
    try:
        # A merge request: GitLab hands protected variables (CLOUDS_YAML, admin) to protected branches only.
        run_job(pipeline, 'plan', project, dict(env, CLOUDS_YAML_READER=reader_clouds_yaml, CI_PIPELINE_SOURCE='merge_request_event',
                                                CI_MERGE_REQUEST_IID='7'))
        assert oct(clouds_yaml.stat().st_mode & 0o777) == '0o600' and oct(clouds_yaml.parent.stat().st_mode & 0o777) == '0o700'
        assert admin_password not in clouds_yaml.read_text()  # the plan never had the admin credentials
        (note,) = NotesAPI.notes
        assert note['path'] == '/api/v4/projects/42/merge_requests/7/notes' and note['token'] == 'secret-token'
        plan = (project / 'plan.txt').read_text()
        assert note['body'] == plan
        # The plan names what the sync would do and changed nothing in the clouds.
        assert 'Would download, verify and upload' in plan and 'PLAY RECAP' in plan
        assert 'failed=0' in plan and 'region_two' in plan
        assert not any(managed_images(cloud.connect('admin', region), provider) for region in REGIONS)

        # The scheduled pipeline on main: the real sync, downloads cached in the project directory.
        run_job(pipeline, 'sync', project, dict(env, CLOUDS_YAML=admin_yaml, CI_PIPELINE_SOURCE='schedule', CI_COMMIT_BRANCH='main'))
        assert oct(clouds_yaml.stat().st_mode & 0o777) == '0o600' and admin_password in clouds_yaml.read_text()
        assert oct((project / '.cache' / 'cloudimages').stat().st_mode & 0o777) == '0o700'
        assert list((project / '.cache' / 'cloudimages' / 'files').iterdir())
        for region in REGIONS:
            latest = [image.name for image in managed_images(cloud.connect('admin', region), provider) if image.visibility == 'public']
            assert latest and all(name.endswith(' - Latest') for name in latest), (region, latest)
    finally:
        delete_managed(cloud, provider)
