"""Pure parsing of upstream discovery documents (no network)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    Context, DiscoveryError, Response, date_in, is_loopback, listing_names, newest_match, rewrite, version_key,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._checksum_dir import (
    AlmaLinux, Rocky)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._debian import (
    BASE, parse_build_json)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import make_source
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._fedora import (
    FedoraCoreOS, pick_release)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._flatcar import parse_version_txt
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._local import parse_checksum
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._ubuntu import (
    Ubuntu, newest_version)

SHA = 'ab' * 32


def response(obj, url='https://example.test/doc'):
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return Response(url, 200, body, '"1-2"', 'Mon, 16 Nov 2026 16:27:00 GMT')


def products(release='24.04', arch='amd64', serials=('20261019', '20261102', '20261116')):
    versions = {serial: {'items': {'disk1.img': {
        'ftype': 'disk1.img', 'path': 'server/releases/noble/release-%s/ubuntu-24.04-server-cloudimg-amd64.img' % serial,
        'sha256': SHA, 'size': 1}}} for serial in serials}
    return {'format': 'products:1.0', 'products': {
        'com.ubuntu.cloud:server:%s:%s' % (release, arch): {'arch': arch, 'release': 'noble', 'version': release, 'versions': versions},
        'com.ubuntu.cloud:server:%s:arm64' % release: {'arch': 'arm64', 'release': 'noble', 'version': release, 'versions': {}}}}


class TestSimplestreams:
    def test_newest_serial_of_matching_product(self):
        doc = products(serials=('20261116', '20261116.1', '20260930'))
        _product, serial, item = newest_version(doc, '24.04', 'amd64', 'u')
        assert serial == '20261116.1' and item['sha256'] == SHA

    def test_candidate_uses_documented_layout_not_stream_path(self):
        source = Ubuntu('24.04')
        candidate = source.newest(None, response(products()))
        lifecycle = {'supported': None, 'support_eol': None, 'vendor': 'Ubuntu', 'source': 'https://example.test/doc'}
        assert candidate == {'version': '20261116', 'codename': 'noble', 'filename': 'ubuntu-24.04-server-cloudimg-amd64.img',
                             'hint': 'sha256:' + SHA, 'lifecycle': lifecycle}

    def test_missing_release_is_end_of_life(self):
        with pytest.raises(DiscoveryError, match='Ubuntu 22.04 .* end of life'):
            newest_version(products(), '22.04', 'amd64', 'u')

    def test_hostile_file_name_refused(self):
        doc = products(serials=('20261116',))
        doc['products']['com.ubuntu.cloud:server:24.04:amd64']['versions']['20261116']['items']['disk1.img']['path'] = 'x/..'
        with pytest.raises(DiscoveryError, match='unusable codename'):
            Ubuntu('24.04').newest(None, response(doc))

    def test_not_a_products_document(self):
        with pytest.raises(DiscoveryError, match='not a simplestreams'):
            newest_version([], '24.04', 'amd64', 'u')


def debian_doc(digest_bytes, version='20261116-2399', fmt='qcow2'):
    name = 'debian-12-genericcloud-amd64-%s.qcow2' % version
    encoded = base64.b64encode(digest_bytes).decode().rstrip('=')
    return {'apiVersion': 'v1', 'kind': 'List', 'items': [
        {'kind': 'Build', 'data': {'info': {'version': version, 'release': 'bookworm'}},
         'metadata': {'annotations': {'cloud.debian.org/digest': 'sha512:AAAA'}}},
        {'kind': 'Upload', 'data': {'ref': 'bookworm/%s/%s' % (version, name)},
         'metadata': {'annotations': {'cloud.debian.org/digest': 'sha512:' + encoded},
                      'labels': {'upload.cloud.debian.org/image-format': fmt}}}]}


class TestDebianJson:
    def test_base64_digest_without_padding(self):
        digest = hashlib.sha512(b'debian').digest()
        version, ref, hexdigest = parse_build_json(debian_doc(digest), 'u')
        assert version == '20261116-2399' and ref.startswith('bookworm/20261116-2399/')
        assert hexdigest == 'sha512:' + digest.hex()

    def test_candidate_and_ref_check(self):
        source = make_source('debian', '12')
        doc = debian_doc(hashlib.sha512(b'x').digest())
        assert source.newest(None, response(doc))['filename'] == 'debian-12-genericcloud-amd64-20261116-2399.qcow2'
        doc['items'][1]['data']['ref'] = 'bookworm/20261116-2399/../../evil.qcow2'
        with pytest.raises(DiscoveryError, match='upload ref'):
            source.newest(None, response(doc))

    def test_release_newer_than_the_code_needs_its_codename(self):
        with pytest.raises(DiscoveryError, match='needs options.codename'):
            make_source('debian', '16').check()
        for bad in ('../x', 'Forky', 'a/b'):
            with pytest.raises(DiscoveryError, match='unknown Debian release'):
                make_source('debian', '16', options={'codename': bad}).check()
        source = make_source('debian', '16', options={'codename': 'cuttle'})
        source.check()
        assert source.entry_url() == BASE + 'cuttle/latest/debian-16-genericcloud-amd64.json'

    def test_no_qcow2_upload(self):
        with pytest.raises(DiscoveryError, match='one Build and one qcow2 Upload'):
            parse_build_json(debian_doc(b'\0' * 64, fmt='raw'), 'u')

    def test_truncated_digest(self):
        with pytest.raises(DiscoveryError, match='64 bytes'):
            parse_build_json(debian_doc(b'\0' * 63), 'u')


class TestFedoraReleasesJson:
    ENTRIES = [
        {'version': '45 Beta', 'arch': 'x86_64', 'subvariant': 'Cloud_Base', 'link': 'https://d/45_Beta/x.qcow2', 'sha256': SHA},
        {'version': '44', 'arch': 'x86_64', 'subvariant': 'Cloud_Base_UKI',
         'link': 'https://d/44/Fedora-Cloud-Base-UEFI-UKI-44-1.7.x86_64.qcow2', 'sha256': SHA},
        {'version': '44', 'arch': 'x86_64', 'subvariant': 'Cloud_Base',
         'link': 'https://download.fedoraproject.org/pub/fedora/linux/releases/44/Cloud/x86_64/images/'
                 'Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2', 'sha256': SHA},
        {'version': '44', 'arch': 'aarch64', 'subvariant': 'Cloud_Base', 'link': 'https://d/a.qcow2', 'sha256': SHA},
    ]

    def test_pick_generic_qcow2(self):
        candidate = make_source('fedora', '44').newest(None, response(self.ENTRIES))
        assert candidate['version'] == '44-1.7' and candidate['hint'] == 'sha256:' + SHA
        assert candidate['filename'] == 'Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2'

    def test_beta_never_matches(self):
        with pytest.raises(DiscoveryError, match='Fedora 45 .* not released yet'):
            pick_release(self.ENTRIES, '45', 'x86_64', 'u')

    def test_link_must_be_https_and_name_the_release(self):
        entries = [dict(self.ENTRIES[2], link='http://d/Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2')]
        with pytest.raises(DiscoveryError, match='unexpected image link'):
            make_source('fedora', '44').newest(None, response(entries))


def stream(release='44.20261116.3.0', location=None, signature=None):
    location = location or 'https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/%s/x86_64/' \
        'fedora-coreos-%s-openstack.x86_64.qcow2.xz' % (release, release)
    disk = {'location': location, 'signature': signature or location + '.sig', 'sha256': SHA, 'uncompressed-sha256': SHA}
    return {'stream': 'stable', 'architectures': {'x86_64': {'artifacts': {'openstack': {
        'release': release, 'formats': {'qcow2.xz': {'disk': disk}}}}}}}


class TestFcosStream:
    def test_openstack_artifact(self):
        candidate = FedoraCoreOS('stable').newest(Context(None), response(stream()))
        assert candidate['version'] == '44.20261116.3.0' and candidate['major'] == '44'
        assert candidate['build_date'] == '2026-11-16' and candidate['signature'].endswith('.qcow2.xz.sig')

    def test_signature_must_belong_to_the_artifact(self):
        with pytest.raises(DiscoveryError, match='unexpected signature'):
            FedoraCoreOS('stable').newest(Context(None), response(stream(signature='https://evil.test/x.sig')))

    @pytest.mark.parametrize('location', [
        'https://evil.test/prod/streams/stable/builds/44.20261116.3.0/x86_64/f.qcow2.xz',   # another host
        'http://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20261116.3.0/x86_64/f.qcow2.xz',
        'https://builds.coreos.fedoraproject.org.evil.test/prod/streams/stable/builds/44.20261116.3.0/x86_64/f',
        'https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/43.20250101.3.0/x86_64/f.qcow2.xz',
        'https://builds.coreos.fedoraproject.org/prod/streams/next/builds/44.20261116.3.0/x86_64/f.qcow2.xz',
        'https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20261116.3.0/x86_64/../../x/f',
        'https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20261116.3.0/x86_64/f?x=1',
    ])
    def test_artifact_pinned_to_the_release_directory_on_the_canonical_host(self, location):
        with pytest.raises(DiscoveryError, match='Fedora CoreOS artifacts come only from that host over https'):
            FedoraCoreOS('stable').newest(Context(None), response(stream(location=location)))

    def test_rewritten_artifact_needs_https_or_loopback(self):
        fcos = FedoraCoreOS('stable')
        for target in ('https://mirror.example.test/', 'http://127.0.0.1:8080/', 'http://[::1]:8080/'):
            ctx = Context(None, rewrites={'https://builds.coreos.fedoraproject.org/': target})
            assert fcos.newest(ctx, response(stream()))['location'].startswith('https://builds.coreos')
        ctx = Context(None, rewrites={'https://builds.coreos.fedoraproject.org/': 'http://mirror.example.test/'})
        with pytest.raises(DiscoveryError, match='would come from http://mirror.example.test/.*only https, or plain '
                           'http from a loopback mirror'):
            fcos.newest(ctx, response(stream()))

    def test_missing_arch(self):
        with pytest.raises(DiscoveryError, match='no openstack artifact for aarch64'):
            FedoraCoreOS('stable', 'aarch64').newest(Context(None), response(stream()))

    def test_pins_come_from_signing_keys_by_major(self):
        ctx = Context(None, signing_keys={'44': ['36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6'], '45': 'AB' * 20})
        assert ctx.pins(FedoraCoreOS('stable'), '44') == ['36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6']
        assert ctx.pins(FedoraCoreOS('stable'), '45') == ['AB' * 20]
        assert ctx.pins(FedoraCoreOS('stable'), '99') == []
        with pytest.raises(DiscoveryError, match='no pinned signing key for 99; add its fingerprint to signing_keys'):
            ctx.use_trust(FedoraCoreOS('stable'), '99')
        assert Context(None, signing_keys={'*': ['CD' * 20]}).pins(FedoraCoreOS('stable'), '99') == ['CD' * 20]


class TestFlatcarVersionTxt:
    def test_flatcar_and_coreos_keys(self):
        assert parse_version_txt('FLATCAR_BUILD=4459\nFLATCAR_VERSION=4459.2.1\nFLATCAR_BUILD_ID=""\n', 'u') == '4459.2.1'
        assert parse_version_txt('COREOS_VERSION="2303.3.1"\n', 'u') == '2303.3.1'

    @pytest.mark.parametrize('text', ['', 'FLATCAR_VERSION=../../x\n', 'FLATCAR_VERSION=1.2\n'])
    def test_bad(self, text):
        with pytest.raises(DiscoveryError, match='no usable FLATCAR_VERSION'):
            parse_version_txt(text, 'u')


APACHE = '''<html><body><table>
<tr><td><a href="?C=N;O=D">Name</a></td></tr>
<tr><td><a href="/pub/">Parent Directory</a></td></tr>
<tr><td><a href="0.6.9/">0.6.9/</a></td></tr><tr><td><a href="0.6.10/">0.6.10/</a></td></tr>
<tr><td><a href="0.5.3/">0.5.3/</a></td></tr><tr><td><a href="version/">version/</a></td></tr>
<tr><td><a href="https://elsewhere.test/0.6.99/">x</a></td></tr><tr><td><a href="sub/0.6.98/">x</a></td></tr>
<tr><td><a href="SHA256SUMS">SHA256SUMS</a></td></tr></table></body></html>'''


class TestListingAndVersions:
    def test_listing_names(self):
        assert listing_names(APACHE) == ['0.6.9/', '0.6.10/', '0.5.3/', 'version/', 'SHA256SUMS']

    def test_newest_pick_is_version_aware(self):
        assert newest_match(listing_names(APACHE), r'(0\.6\.[0-9]+)/') == ('0.6.10/', '0.6.10')
        assert newest_match(['a'], r'(b)') is None

    def test_version_key(self):
        assert sorted(['9.10-20260101.0', '9.9-20261116.0', '9.10-20251231.1'], key=version_key) == [
            '9.9-20261116.0', '9.10-20251231.1', '9.10-20260101.0']
        assert version_key('20261116.1') > version_key('20261116')

    def test_date_in(self):
        assert date_in('10.1-20261116.0') == '2026-11-16'
        assert date_in('4459.2.1') is None and date_in('20261340') is None


class TestChecksumDirPick:
    ALMA = ''.join('%s  %s\n' % (SHA, name) for name in (
        'AlmaLinux-9-GenericCloud-9.9-20261201.x86_64.qcow2', 'AlmaLinux-9-GenericCloud-9.10-20261116.x86_64.qcow2',
        'AlmaLinux-9-GenericCloud-latest.x86_64.qcow2', 'AlmaLinux-9-GenericCloud-9.10-20261116.aarch64.qcow2'))

    def test_newest_minor_wins(self):
        candidate = AlmaLinux('9').newest(Context(None), response(self.ALMA.encode()))
        assert candidate['version'] == '9.10-20261116' and candidate['filename'].endswith('.x86_64.qcow2')

    def test_traversal_name_is_ignored_with_a_warning(self):
        body = self.ALMA + '%s  ../../../../etc/cron.d/x\n' % SHA
        ctx = Context(None)
        assert AlmaLinux('9').newest(ctx, response(body.encode()))['version'] == '9.10-20261116'
        assert len(ctx.warnings) == 1 and 'file name contains ".."' in ctx.warnings[0]

    def test_a_broken_newest_line_is_refused_not_replaced_by_an_older_build(self):
        newest = 'AlmaLinux-9-GenericCloud-9.11-20270101.x86_64.qcow2'
        for line in ('%s  ../%s\n' % (SHA, newest), '%s  %s\n%s  %s\n' % (SHA, newest, 'b' * 64, newest),
                     '%s: 12 bytes, %s\n' % (newest, SHA)):
            with pytest.raises(DiscoveryError, match=newest.replace('.', r'\.')):
                AlmaLinux('9').newest(Context(None), response((self.ALMA + line).encode()))

    def test_rocky_bsd_and_variant(self):
        body = ''.join('# %s: 5 bytes\nSHA256 (%s) = %s\n' % (n, n, SHA) for n in (
            'Rocky-9-GenericCloud-Base-9.6-20261116.0.x86_64.qcow2', 'Rocky-9-GenericCloud-LVM-9.6-20261117.0.x86_64.qcow2',
            'Rocky-9-GenericCloud-Base.latest.x86_64.qcow2'))
        assert Rocky('9').newest(Context(None), response(body.encode()))['version'] == '9.6-20261116.0'
        lvm = Rocky('9', options={'variant': 'LVM'}).newest(Context(None), response(body.encode()))
        assert lvm['version'] == '9.6-20261117.0'

    def test_nothing_matches(self):
        with pytest.raises(DiscoveryError, match='lists no file matching'):
            Rocky('10').newest(Context(None), response(self.ALMA.encode()))

    def test_a_fixed_latest_name_is_versioned_by_last_modified(self):
        # OIM's latest_url: one name, rewritten by each build; the checksum file's date versions it.
        options = {'url': 'https://a.test/images/', 'checksum_file': 'CHECKSUM', 'version_from': 'last_modified',
                   'pattern': r'AlmaLinux-9-GenericCloud-latest\.x86_64\.qcow2'}
        source = make_source('checksum_file', 'alma-latest', options=options)
        candidate = source.newest(Context(None), response(self.ALMA.encode()))
        assert candidate['version'] == '20261116' and candidate['filename'] == 'AlmaLinux-9-GenericCloud-latest.x86_64.qcow2'
        undated = Response('https://a.test/images/CHECKSUM', 200, self.ALMA.encode())
        with pytest.raises(DiscoveryError, match='no Last-Modified date'):
            source.newest(Context(None), undated)
        with pytest.raises(DiscoveryError, match='version_from must be name or last_modified'):
            make_source('checksum_file', '1', options=dict(options, version_from='mtime'))


class TestPlumbing:
    def test_rewrite_longest_prefix(self):
        rules = {'https://': 'http://127.0.0.1:1/', 'https://cloud.debian.org/': 'http://127.0.0.1:2/deb/'}
        assert rewrite('https://cloud.debian.org/x', rules) == 'http://127.0.0.1:2/deb/x'
        assert rewrite('https://a.test/x', rules) == 'http://127.0.0.1:1/a.test/x'
        assert rewrite('ftp://a.test/x', rules) == 'ftp://a.test/x'

    @pytest.mark.parametrize('host,loopback', [('127.0.0.1', True), ('127.8.9.1', True), ('::1', True), ('localhost', True),
                                               ('10.0.0.1', False), ('localhost.example.test', False), (None, False)])
    def test_loopback(self, host, loopback):
        assert is_loopback(host) is loopback

    def test_https_policy_for_unsigned(self):
        ctx = Context(None, require_https=True)
        ctx.check_scheme('https://cloud.debian.org/x')
        ctx.check_scheme('http://127.0.0.1:8080/cloud.debian.org/x')
        with pytest.raises(DiscoveryError, match='must come over https'):
            ctx.check_scheme('http://mirror.example.test/x')
        Context(None).check_scheme('http://mirror.example.test/x')  # signed sources do not care

    def test_local_checksum(self):
        assert parse_checksum('SHA256:' + SHA.upper(), 'f').hexdigest == SHA
        assert parse_checksum(SHA, 'f').algorithm == 'sha256'
        with pytest.raises(DiscoveryError, match='sha512 digest must have 128'):
            parse_checksum('sha512:' + SHA, 'f')
        for weak in ('md5:' + 'a' * 32, 'a' * 40):
            with pytest.raises(DiscoveryError, match='local_artifact: options.checksum.*alone cannot identify a file'):
                parse_checksum(weak, 'f')

    def test_a_release_identified_by_md5_alone_is_refused(self):
        source = SOURCES['cirros']('0.6', 'x86_64', {})
        ctx = Context(None)
        md5 = _checksums.Checksum('cirros-0.6.3-x86_64-disk.img', 'md5', 'a' * 32)
        with pytest.raises(DiscoveryError, match='cirros 0.6 0.6.3 checksum: md5 alone cannot identify a file'):
            source.result(ctx, '0.6.3', '2026-01-01', 'https://download.cirros-cloud.net/0.6.3/x.img', md5, None)
        strong = _checksums.Checksum('x.img', 'sha256', SHA)
        assert source.result(ctx, '0.6.3', '2026-01-01', 'https://download.cirros-cloud.net/0.6.3/x.img', strong, None)['checksum'] \
            == 'sha256:' + SHA

    def test_deeply_nested_json_is_a_discovery_error(self):
        for body in (b'[' * 200000, b'{"a":' * 200000):
            with pytest.raises(DiscoveryError, match='https://example.test/doc is not usable JSON: nested too deeply'):
                response(body).json()

    def test_registry_and_local_artifact_options(self):
        assert sorted(SOURCES) == ['almalinux', 'checksum_file', 'cirros', 'debian', 'fedora', 'fedora_coreos', 'flatcar',
                                   'local_artifact', 'rocky', 'ubuntu', 'ubuntu_minimal']
        with pytest.raises(DiscoveryError, match='unknown source'):
            make_source('gentoo', '1')
        with pytest.raises(DiscoveryError, match='exactly one of options.path and options.url'):
            make_source('local_artifact', '1', options={'checksum': SHA, 'version': '1'})
        with pytest.raises(DiscoveryError, match='use options.path'):
            make_source('local_artifact', '1', options={'url': 'file:///etc/passwd', 'checksum': SHA, 'version': '1'})
        with pytest.raises(DiscoveryError, match='must be a file name'):
            make_source('checksum_file', '1', options={'url': 'https://a.test/', 'pattern': '(x)', 'checksum_file': '../SUMS'})
