"""An existing image of this build is trusted only when its hashes are the verified file's (issue 17, item 2).

A web-download or glance-direct import goes on in Glance after its run is killed, so a private image
with this build's identity may hold bytes nobody compared. The same checks run against the real
Glance in tests/integration/test_impersonation.py; here a dict stands in for Glance's image table.
"""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _glance_upload as up
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import missing_stores

TAG = 'managed_by_example'
IDENTITY = {'cloudimages_release': 'r', 'cloudimages_build': '1', 'cloudimages_digest': 'sha256:' + '0' * 64}
GOOD, BAD = b'the verified bytes', b'what a killed web-download left'
EXPECTED = {'sha512': hashlib.sha512(GOOD).hexdigest(), 'md5': hashlib.md5(GOOD).hexdigest()}


def record(image_id, data, visibility='private', created='2026-11-23T10:00:00Z'):
    return {'id': image_id, 'status': 'active', 'visibility': visibility, 'created_at': created, 'updated_at': created,
            'os_hash_algo': 'sha512', 'os_hash_value': hashlib.sha512(data).hexdigest(),
            'checksum': hashlib.md5(data).hexdigest(), 'tags': [TAG], 'properties': dict(IDENTITY)}


class FakeGlance:
    project_id = 'p'

    def __init__(self, *images):
        self.images = {image['id']: image for image in images}
        self.calls = []

    def list_identity(self, tag, identity):
        return sorted(self.images.values(), key=up.rank)

    def get(self, image_id):
        return self.images.get(image_id)

    def create(self, body):
        self.calls.append('create')
        image = dict(record('new', b''), status='queued', os_hash_value=None, checksum=None, created_at='2026-11-24T10:00:00Z')
        self.images['new'] = image
        return image

    def put_file(self, image_id, reader, store=None):
        data = b''.join(reader)
        self.sent = reader.digests()
        self.images[image_id].update(status='active', os_hash_value=hashlib.sha512(data).hexdigest(),
                                     checksum=hashlib.md5(data).hexdigest(), stores=store or 'local')

    def delete(self, image_id):
        self.calls.append('delete %s' % image_id)
        self.images.pop(image_id, None)


def uploader(glance, tmp_path, data=GOOD, expected=None, **options):
    path = tmp_path / 'image.qcow2'
    path.write_bytes(data)
    return up.Uploader(glance, {'name': 'x'}, TAG, IDENTITY, filename=str(path), expected=expected or EXPECTED, poll=0,
                       sleep=lambda s: None, **options)


@pytest.mark.parametrize('expected, hashed', [(EXPECTED, ['sha256']),
                                              (dict(EXPECTED, sha256=hashlib.sha256(GOOD).hexdigest()), [])])
def test_the_bytes_sent_are_hashed_only_for_what_the_expected_digests_lack(tmp_path, expected, hashed):
    glance = FakeGlance()
    result = uploader(glance, tmp_path, expected=expected).run()
    assert result['created'] and sorted(glance.sent) == hashed


def test_a_file_changed_after_its_verification_is_caught_by_glances_hashes(tmp_path):
    glance = FakeGlance()
    expected = dict(EXPECTED, sha256=hashlib.sha256(GOOD).hexdigest())
    with pytest.raises(up.UploadError, match='hash mismatch for image new: expected sha512 .* != Glance'):
        uploader(glance, tmp_path, data=BAD, expected=expected).run()
    assert glance.sent == {} and glance.calls == ['create', 'delete new'] and not glance.images


def test_private_image_with_other_bytes_is_deleted_and_uploaded_anew(tmp_path):
    glance = FakeGlance(record('left', BAD))
    run = uploader(glance, tmp_path)
    assert run.plan() == (None, ['left'])   # check mode says so too
    result = run.run()
    assert glance.calls == ['delete left', 'create']
    assert result['created'] and result['deleted'] == ['left'] and result['image']['id'] == 'new'
    assert result['image']['os_hash_value'] == EXPECTED['sha512']
    assert 'image left of this build was not promoted yet and is not what this upload makes' in run.warnings[0]


@pytest.mark.parametrize('visibility', ['private', 'shared'])
def test_private_image_with_the_verified_bytes_is_the_result(tmp_path, visibility):
    glance = FakeGlance(record('left', GOOD, visibility))
    result = uploader(glance, tmp_path).run()
    assert glance.calls == [] and not result['created'] and result['image']['id'] == 'left'


@pytest.mark.parametrize('visibility', ['public', 'community'])
def test_promoted_image_with_other_bytes_is_an_error_and_kept(tmp_path, visibility):
    glance = FakeGlance(record('latest', BAD, visibility))
    with pytest.raises(up.UploadError, match='does not match expected_digests'):
        uploader(glance, tmp_path).run()
    assert glance.calls == [] and 'latest' in glance.images


def test_image_that_cannot_be_compared_is_an_error_not_a_candidate(tmp_path):
    glance = FakeGlance(dict(record('left', BAD), os_hash_algo=None, os_hash_value=None, checksum=None))
    with pytest.raises(up.UploadError, match='cannot verify image left'):
        uploader(glance, tmp_path).run()
    assert 'left' in glance.images


def test_a_direct_upload_goes_into_the_store_asked_for(tmp_path):
    result = uploader(FakeGlance(), tmp_path, stores=['edge']).run()
    assert result['created'] and result['image']['stores'] == 'edge'


def test_a_candidate_not_in_every_store_asked_for_is_replaced(tmp_path):
    # Left by a run before the operator added a store: the right bytes, but not where they must be.
    glance = FakeGlance(dict(record('left', GOOD), stores='local'))
    assert uploader(glance, tmp_path, method='glance-direct', stores=['local', 'edge']).plan() == (None, ['left'])
    assert uploader(glance, tmp_path, method='glance-direct', stores=['local']).plan()[0]['id'] == 'left'


def test_a_store_glance_does_not_list_after_the_upload_fails_it_and_deletes_the_image(tmp_path):
    class IgnoresStores(FakeGlance):
        def put_file(self, image_id, reader, store=None):
            super().put_file(image_id, reader)  # into the default store, whatever was asked
    glance = IgnoresStores()
    with pytest.raises(up.UploadError, match='does not list it in the store.s. edge'):
        uploader(glance, tmp_path, stores=['edge']).run()
    assert glance.calls == ['create', 'delete new'] and not glance.images


@pytest.mark.parametrize('method, stores, all_stores, message', [
    ('direct', ['a', 'b'], False, 'a direct upload goes to one store'),
    ('direct', [], True, 'a direct upload goes to one store'),
    ('glance-direct', ['a'], True, 'exclude each other'),
])
def test_stores_a_method_cannot_reach_are_refused(method, stores, all_stores, message):
    with pytest.raises(ValueError, match=message):
        up.check_stores(method, stores, all_stores)


def test_missing_stores_reads_glances_comma_separated_list():
    assert missing_stores({'stores': 'local,edge'}, ['edge', 'far']) == ['far']
    assert missing_stores({}, ['edge']) == ['edge'] and missing_stores({'stores': 'x'}, []) == []


class CopyingGlance(FakeGlance):
    """copy-image as Glance runs it: the API takes the import lock, the task copies (or fails) on
    the next look, then drops the lock; the image stays active throughout.

    tests/integration/test_daily_sync_stores.py copies for real; a failing store or another run's
    task at the right moment cannot be had on demand from the local Glance (its file stores run as
    root, which no permission stops), so they are played here.
    """

    store_list = ['local', 'edge', 'far']

    def __init__(self, *images, fail=(), busy=0):
        super().__init__(*images)
        self.fail, self.busy, self.pending = set(fail), busy, None

    def store_ids(self):
        self.calls.append('stores')
        return list(self.store_list)

    def start_import(self, image_id, method, uri=None, stores=(), all_stores=False, must_succeed=True):
        self.calls.append('%s %s %s' % (method, ','.join(stores), must_succeed))
        if self.images[image_id]['properties'].get('os_glance_import_task'):
            error = up.UploadError('HTTP 409 Image has active task')
            error.status = 409
            raise error
        self.images[image_id]['properties']['os_glance_import_task'] = 'task'
        self.pending = (image_id, list(stores))

    def get(self, image_id):
        image = self.images[image_id]
        properties = image['properties']
        if self.busy:  # another run's task holds the image for this many looks
            self.busy -= 1
            properties['os_glance_import_task'] = 'theirs' if self.busy else ''
        elif self.pending:
            _id, stores = self.pending
            done = [store for store in stores if store not in self.fail]
            image['stores'] = ','.join([image['stores']] + done)
            properties['os_glance_failed_import'] = ','.join(sorted(self.fail & set(stores)))
            properties['os_glance_import_task'], self.pending = '', None
        return image


def test_a_promoted_image_missing_a_store_is_copied_there_and_keeps_its_id(tmp_path):
    # The operator added the store "edge" after this Latest was uploaded into "local".
    glance = CopyingGlance(dict(record('latest', GOOD, 'public'), stores='local'))
    run = uploader(glance, tmp_path, method='glance-direct', stores=['local', 'edge'])
    existing, orphans = run.plan()
    assert existing['id'] == 'latest' and not orphans and run.missing_for(existing) == ['edge']  # check mode
    result = run.run()
    assert result['copied'] == ['edge'] and not result['created'] and result['image']['id'] == 'latest'
    assert glance.images['latest']['stores'] == 'local,edge' and glance.images['latest']['status'] == 'active'
    assert glance.calls == ['stores', 'copy-image edge False']  # a store is checked, then one import call
    # Next run: nothing to copy.
    again = uploader(glance, tmp_path, method='glance-direct', stores=['local', 'edge']).run()
    assert again['copied'] == [] and glance.calls == ['stores', 'copy-image edge False']


def test_all_stores_copies_into_every_store_glance_lists(tmp_path):
    glance = CopyingGlance(dict(record('latest', GOOD, 'community'), stores='local'))
    result = uploader(glance, tmp_path, method='glance-direct', all_stores=True).run()
    assert result['copied'] == ['edge', 'far'] and glance.images['latest']['stores'] == 'local,edge,far'
    assert glance.calls == ['stores', 'copy-image edge,far False']


def test_a_copy_that_fails_names_the_store_and_leaves_the_image_as_it_was(tmp_path):
    glance = CopyingGlance(dict(record('latest', GOOD, 'public'), stores='local'), fail={'far'})
    with pytest.raises(up.UploadError, match=r'copy image latest into the store\(s\) far; it is unchanged in local,edge'):
        uploader(glance, tmp_path, method='glance-direct', all_stores=True).run()
    assert glance.images['latest']['status'] == 'active' and 'delete latest' not in glance.calls


def test_a_copy_waits_for_another_runs_task_and_an_unknown_store_is_refused(tmp_path):
    glance = CopyingGlance(dict(record('latest', GOOD, 'public'), stores='local'), busy=2)
    assert uploader(glance, tmp_path, method='glance-direct', stores=['edge']).run()['copied'] == ['edge']
    assert glance.calls == ['stores', 'copy-image edge False']  # started only once the other task was done
    glance = CopyingGlance(dict(record('latest', GOOD, 'public'), stores='local'))
    with pytest.raises(up.UploadError, match='Glance has no store moon .its stores: local, edge, far.'):
        uploader(glance, tmp_path, method='glance-direct', stores=['moon']).run()
    assert glance.calls == ['stores']
