from __future__ import annotations

import base64
import hashlib
import re
import string

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    ALGORITHMS, Checksum, ChecksumError, MultiHasher, algorithm_for_hex, clearsigned_body,
    debian_digest_to_hex, find, normalize_hex, parse, parse_digest, select,
)


def h(seed, algorithm='sha256'):
    """A deterministic fake digest of the right length."""
    return hashlib.new(algorithm, seed.encode()).hexdigest()


# ---------------------------------------------------------------- look-alike vendor files

# Ubuntu noble SHA256SUMS: binary marker, sorted by hash (not by name).
UBUNTU_LINES = sorted([
    f'{h("u1")} *noble-server-cloudimg-amd64.img',
    f'{h("u2")} *noble-server-cloudimg-amd64.manifest',
    f'{h("u3")} *noble-server-cloudimg-arm64.img',
    f'{h("u4")} *noble-server-cloudimg-amd64-root.tar.xz',
    f'{h("u5")} *noble-server-cloudimg-amd64.squashfs',
])
UBUNTU = '\n'.join(UBUNTU_LINES) + '\n'

# Debian SHA512SUMS: two spaces, every file of the build directory.
DEBIAN = ''.join(
    f'{h(name, "sha512")}  {name}\n' for name in (
        'debian-12-genericcloud-amd64-20250210-2019.json',
        'debian-12-genericcloud-amd64-20250210-2019.qcow2',
        'debian-12-genericcloud-amd64-20250210-2019.raw',
        'debian-12-generic-amd64-20250210-2019.qcow2',
        'debian-12-nocloud-amd64-20250210-2019.tar.xz',
    ))

# Rocky CHECKSUM: BSD tags with byte-count comments, versioned and "latest" names.
ROCKY = (
    '# Rocky-9-GenericCloud-Base-9.6-20250531.0.x86_64.qcow2: 612368384 bytes\n'
    f'SHA256 (Rocky-9-GenericCloud-Base-9.6-20250531.0.x86_64.qcow2) = {h("r1")}\n'
    '# Rocky-9-GenericCloud-Base.latest.x86_64.qcow2: 612368384 bytes\n'
    f'SHA256 (Rocky-9-GenericCloud-Base.latest.x86_64.qcow2) = {h("r1")}\n'
    '# Rocky-9-GenericCloud-LVM.latest.x86_64.qcow2: 640155648 bytes\n'
    f'SHA256 (Rocky-9-GenericCloud-LVM.latest.x86_64.qcow2) = {h("r2")}\n'
)

FEDORA_BODY = (
    '# Fedora-Cloud-Base-AmazonEC2-44-1.7.x86_64.raw.xz: 402653184 bytes\n'
    f'SHA256 (Fedora-Cloud-Base-AmazonEC2-44-1.7.x86_64.raw.xz) = {h("f1")}\n'
    '# Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2: 583729152 bytes\n'
    f'SHA256 (Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2) = {h("f2")}\n'
    '# Fedora-Cloud-Base-UEFI-UKI-44-1.7.x86_64.qcow2: 512000000 bytes\n'
    f'SHA256 (Fedora-Cloud-Base-UEFI-UKI-44-1.7.x86_64.qcow2) = {h("f3")}\n'
)
FAKE_SIGNATURE = (
    '-----BEGIN PGP SIGNATURE-----\n'
    '\n'
    'iHUEARYKAB0WIQTX0000000000000000000000000000000000000000000000000\n'
    '=AbCd\n'
    '-----END PGP SIGNATURE-----\n'
)
FEDORA = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n' + FEDORA_BODY + FAKE_SIGNATURE

# Flatcar *.DIGESTS: sections per algorithm, each with md5sum/sha1sum/sha512sum output.
FLATCAR_IMG = 'flatcar_production_openstack_image.img.bz2'
FLATCAR = (
    '# MD5 HASH\n'
    f'{h("fc", "md5")}  {FLATCAR_IMG}\n'
    '# SHA1 HASH\n'
    f'{h("fc", "sha1")}  {FLATCAR_IMG}\n'
    '# SHA512 HASH\n'
    f'{h("fc", "sha512")}  {FLATCAR_IMG}\n'
)

ALMA = (
    f'{h("a1")}  AlmaLinux-9-GenericCloud-9.6-20250522.x86_64.qcow2\n'
    f'{h("a1")}  AlmaLinux-9-GenericCloud-latest.x86_64.qcow2\n'
    f'{h("a2")}  AlmaLinux-9-GenericCloud-LVM-9.6-20250522.x86_64.qcow2\n'
    f'{h("a2")}  AlmaLinux-9-GenericCloud-LVM-latest.x86_64.qcow2\n'
)

CIRROS = ''.join(f'{h(n)}  {n}\n' for n in (
    'cirros-0.6.3-aarch64-disk.img', 'cirros-0.6.3-x86_64-disk.img', 'cirros-0.6.3-x86_64-kernel',
    'cirros-0.6.3-x86_64-initramfs', 'cirros-0.6.3-x86_64-rootfs.img.gz', 'cirros-0.6.3-x86_64-uec.tar.gz',
))

# openSUSE Leap 15.6 .sha256: one line, single space.
OPENSUSE = f'{h("s1")} openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2\n'


@pytest.mark.parametrize('text, name, algorithm, digest, size', [
    (UBUNTU, 'noble-server-cloudimg-amd64.img', 'sha256', h('u1'), None),
    (DEBIAN, 'debian-12-genericcloud-amd64-20250210-2019.qcow2', 'sha512',
     h('debian-12-genericcloud-amd64-20250210-2019.qcow2', 'sha512'), None),
    (ROCKY, 'Rocky-9-GenericCloud-Base.latest.x86_64.qcow2', 'sha256', h('r1'), 612368384),
    (ROCKY, 'Rocky-9-GenericCloud-LVM.latest.x86_64.qcow2', 'sha256', h('r2'), 640155648),
    (FEDORA, 'Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2', 'sha256', h('f2'), 583729152),
    (FLATCAR, FLATCAR_IMG, 'sha512', h('fc', 'sha512'), None),
    (ALMA, 'AlmaLinux-9-GenericCloud-latest.x86_64.qcow2', 'sha256', h('a1'), None),
    (CIRROS, 'cirros-0.6.3-x86_64-disk.img', 'sha256', h('cirros-0.6.3-x86_64-disk.img'), None),
    (OPENSUSE, 'openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2', 'sha256', h('s1'), None),
])
def test_vendor_files(text, name, algorithm, digest, size):
    assert find(text, name, source='https://example.test/SUMS') == Checksum(name, algorithm, digest, size)


def test_counts_per_vendor():
    assert len(parse(UBUNTU)) == 5
    assert len(parse(DEBIAN)) == 5
    assert len(parse(ROCKY)) == 3
    assert len(parse(FEDORA)) == 3
    assert len(parse(ALMA)) == 4
    assert len(parse(CIRROS)) == 6
    assert {e.algorithm for e in parse(FLATCAR)} == {'md5', 'sha1', 'sha512'}


def test_flatcar_pick_algorithm():
    assert find(FLATCAR, FLATCAR_IMG, algorithm='MD5').hexdigest == h('fc', 'md5')
    assert find(FLATCAR, FLATCAR_IMG, algorithm='sha-1').hexdigest == h('fc', 'sha1')
    with pytest.raises(ChecksumError, match='without a sha256 digest'):
        find(FLATCAR, FLATCAR_IMG, algorithm='sha256')


def test_flatcar_section_length_mismatch():
    text = f'# SHA512 HASH\n{h("x")}  {FLATCAR_IMG}\n'
    with pytest.raises(ChecksumError, match='sha512 digest must have 128'):
        find(text, FLATCAR_IMG)


def test_flatcar_unknown_section():
    # The lines of an unknown section are never read as the previous section's algorithm.
    text = FLATCAR + f'# WHIRLPOOL HASH\n{h("w", "sha512")}  a\n'
    assert parse(text).warnings[0].endswith("unsupported hash algorithm 'WHIRLPOOL' (supported: "
                                            "sha512, sha384, sha256, sha224, sha1, md5); the line is ignored")
    with pytest.raises(ChecksumError, match='line 8: digest in a section of an unsupported algorithm'):
        find(text, 'a')
    assert find(text, FLATCAR_IMG).hexdigest == h('fc', 'sha512')


def test_line_order_and_crlf_and_blanks():
    text = '\r\n'.join(reversed(UBUNTU_LINES)) + '  \r\n\r\n\n   \n# a comment\n'
    assert find(text, 'noble-server-cloudimg-arm64.img').hexdigest == h('u3')
    assert sorted(parse(text), key=str) == sorted(parse(UBUNTU), key=str)


def test_uppercase_hex_is_lowered():
    assert find(f'{h("x").upper()}  a.img\n', 'a.img').hexdigest == h('x')


def test_bytes_input():
    assert find(UBUNTU.encode(), 'noble-server-cloudimg-amd64.img').hexdigest == h('u1')
    with pytest.raises(ChecksumError, match='not UTF-8'):
        parse(b'\xff\xfe  a\n')
    with pytest.raises(ChecksumError, match='expected text'):
        parse(12)


def test_not_listed_names_file_and_source():
    with pytest.raises(ChecksumError, match=r"'missing\.img' is not listed in https://mirror\.test/SHA256SUMS"):
        find(UBUNTU, 'missing.img', source='https://mirror.test/SHA256SUMS')
    with pytest.raises(ChecksumError, match='not listed in checksum list'):
        find('', 'a')


def test_exact_match_only():
    # a name that is a prefix/suffix of a listed one does not match
    with pytest.raises(ChecksumError, match='not listed'):
        find(UBUNTU, 'noble-server-cloudimg-amd64')
    with pytest.raises(ChecksumError, match='not listed'):
        find(UBUNTU, 'server-cloudimg-amd64.img')


@pytest.mark.parametrize('listed, wanted', [
    ('./a.img', 'a.img'),
    ('././a.img', 'a.img'),
    ('a.img', './a.img'),
    ('sub/a.img', 'a.img'),
    ('./sub/a.img', 'sub/a.img'),
    ('x/sub/a.img', 'a.img'),
])
def test_path_prefix_matching(listed, wanted):
    assert find(f'{h("x")}  {listed}\n', wanted).hexdigest == h('x')


def test_exact_name_beats_basename():
    text = f'{h("x")}  sub/a.img\n{h("y")}  a.img\n'
    assert find(text, 'a.img').hexdigest == h('y')
    assert find(text, 'sub/a.img').hexdigest == h('x')


def test_ambiguous_basename():
    text = f'{h("x")}  one/a.img\n{h("y")}  two/a.img\n'
    with pytest.raises(ChecksumError, match='ambiguous.*one/a.img, two/a.img'):
        find(text, 'a.img')
    assert find(text, 'two/a.img').hexdigest == h('y')


def test_path_name_does_not_match_basename_of_other_dir():
    with pytest.raises(ChecksumError, match='not listed'):
        find(f'{h("x")}  one/a.img\n', 'two/a.img')


def test_dot_slash_duplicates_collapse_or_conflict():
    assert len(parse(f'{h("x")}  ./a.img\n{h("x")}  a.img\n')) == 1
    with pytest.raises(ChecksumError, match='two different sha256'):
        find(f'{h("x")}  ./a.img\n{h("y")}  a.img\n', 'a.img')


# ---------------------------------------------------------------- hostile input

@pytest.mark.parametrize('name', [
    '../a.img', 'sub/../../etc/passwd', '..', 'a/..', '/etc/passwd', '/a.img',
    'a\\b.img', '..\\a.img', 'a\x01.img', 'a\x7f.img', 'a\x85.img', 'a\u202eb.img', 'a\x1cb', 'a\tb',
    'dir/', '.', './',
])
def test_dangerous_names_are_problems_not_entries(name):
    variants = (
        f'{h("good")}  good.img\n{h("x")}  {name}\n',
        f'SHA256 (good.img) = {h("good")}\nSHA256 ({name}) = {h("x")}\n',
        f'# {name}: 12 bytes\nSHA256 (good.img) = {h("good")}\n',
    )
    for text in variants:
        entries = parse(text)
        assert [e.name for e in entries] == ['good.img']
        assert len(entries.problems) == 1
        assert re.search('line [12]: (file name|entry does not name)', entries.warnings[0])
        assert entries.warnings[0].endswith('; the line is ignored')
        assert find(text, 'good.img').hexdigest == h('good')


@pytest.mark.parametrize('name', ['../good.img', 'sub/../../good.img', '/srv/good.img', 'a\\good.img',
                                  'good.img\x01', '/good.img'])
def test_a_path_trick_on_the_chosen_name_refuses_it(name):
    for text in (f'{h("good")}  good.img\n{h("x")}  {name}\n',
                 f'SHA256 ({name}) = {h("x")}\nSHA256 (good.img) = {h("good")}\n'):
        with pytest.raises(ChecksumError, match="line [12]: .*refusing 'good.img'"):
            find(text, 'good.img')
        assert find(text + f'{h("o")}  other.img\n', 'other.img').hexdigest == h('o')


def test_nul_anywhere_is_rejected():
    with pytest.raises(ChecksumError, match='NUL'):
        parse(UBUNTU + '# comment \x00\n')


def test_duplicate_conflicting_entries():
    text = UBUNTU + f'{h("evil")} *noble-server-cloudimg-amd64.img\n'
    with pytest.raises(ChecksumError, match="'noble-server-cloudimg-amd64.img' is listed with two different sha256"):
        find(text, 'noble-server-cloudimg-amd64.img')
    with pytest.raises(ChecksumError, match='two different sha256'):
        find(text, './noble-server-cloudimg-amd64.img')
    # Other names of the file stay usable: the conflict is not theirs.
    assert find(text, 'noble-server-cloudimg-arm64.img').hexdigest == h('u3')
    assert 'noble-server-cloudimg-amd64.img' not in [e.name for e in parse(text)]


def test_duplicate_identical_entries_are_fine():
    assert len(parse(UBUNTU + UBUNTU)) == 5


def test_conflicting_sizes_warn_and_drop_the_size():
    # Real: Rocky 8.7 aarch64 ISO CHECKSUM lists the minimal ISO twice, one digest, two sizes.
    text = f'# a: 1 bytes\n# a: 2 bytes\nSHA256 (a) = {h("x")}\n'
    entries = parse(text)
    assert entries == [Checksum('a', 'sha256', h('x'), None)]
    assert entries.warnings == ["checksum list: conflicting sizes for 'a' (1, 2); the line is ignored"]
    assert find(text, 'a').hexdigest == h('x')


def test_size_lines_without_hash_sign():
    # Real: Rocky 8.7, 9.0 and 9.1 CHECKSUM files (see test_vendor_samples for the real files).
    text = f'a.qcow2: 880082944 bytes\nSHA256 (a.qcow2) = {h("x")}\n'
    entries = parse(text)
    assert entries == [Checksum('a.qcow2', 'sha256', h('x'), 880082944)] and not entries.problems


@pytest.mark.parametrize('line', [
    f'{h("x")[:63]}  a.img',                      # wrong length
    f'{h("x")}0  a.img',                          # 65 characters
    'abc  a.img',
    f'SHA256 (a.img) = {h("x", "sha512")}',       # tag and length disagree
    f'MD5 (a.img) = {h("x")}',
    f'SHA3-256 (a.img) = {h("x")}',               # unsupported algorithm
    f'{h("x")[:-1]}g  a.img',                     # not hex
    f'{h("x")}',                                  # no name
    f'{h("x")}   ',                               # name only blanks
    'hello world',
    '<html><body>404 Not Found</body></html>',
    '-----BEGIN PGP SIGNATURE-----',
    f' {h("x")}  a.img',                          # leading blank
])
def test_malformed_lines(line):
    entries = parse(UBUNTU + line + '\n')
    assert len(entries) == 5 and len(entries.problems) == 1
    assert find(UBUNTU + line + '\n', 'noble-server-cloudimg-arm64.img').hexdigest == h('u3')
    if 'a.img' in line:
        with pytest.raises(ChecksumError, match="refusing 'a.img'"):
            find(UBUNTU + line + '\n', 'a.img')


def test_huge_line():
    with pytest.raises(ChecksumError, match='longer than'):
        parse(f'{h("x")}  ' + 'a' * 100_000 + '\n')
    with pytest.raises(ChecksumError):
        parse('f' * 1_000_000)


def test_many_lines_are_fine():
    text = ''.join(f'{h(str(i))}  f{i}\n' for i in range(20_000))
    assert find(text, 'f19999').hexdigest == h('19999')


def test_mixed_grammars_are_read_line_by_line():
    entries = parse(ALMA + ROCKY)
    assert len(entries) == 7 and not entries.problems


def test_warning_has_line_number():
    assert parse(UBUNTU + 'junk\n', source='SUMS').warnings == [
        "SUMS: line 6: not a checksum line: 'junk'; the line is ignored"]


def test_a_bad_line_mentioning_the_name_refuses_it_as_a_whole_word():
    text = UBUNTU + 'noble-server-cloudimg-amd64.img is fine, trust me\n'
    with pytest.raises(ChecksumError, match='line 6: not a checksum line'):
        find(text, 'noble-server-cloudimg-amd64.img')
    # "amd64.img" is no whole word of that line: its own entry stays usable.
    assert find(UBUNTU + 'xnoble-server-cloudimg-arm64.imgx\n', 'noble-server-cloudimg-arm64.img')


# ---------------------------------------------------------------- clearsigned wrapper

def test_clearsigned_body_plain_text_is_none():
    assert clearsigned_body(UBUNTU) is None


def test_clearsigned_body_extracts_and_undashes():
    text = ('-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\n'
            '# header\r\n- -----not a marker\r\n- - dash\r\nline  \r\n' + FAKE_SIGNATURE.replace('\n', '\r\n'))
    assert clearsigned_body(text) == '# header\n-----not a marker\n- dash\nline\n'


def test_parse_reads_clearsigned_body_only():
    assert [e.name for e in parse(FEDORA)] == [e.name for e in parse(FEDORA_BODY)]


@pytest.mark.parametrize('text, message', [
    (f'{h("x")}  evil.img\n' + FEDORA, 'text before'),
    (FEDORA + f'{h("x")}  evil.img\n', 'text after'),
    (FEDORA + FEDORA, 'more than one'),
    (FEDORA.replace(FAKE_SIGNATURE, ''), 'no signature block'),
    (FEDORA.replace('-----END PGP SIGNATURE-----\n', ''), 'unterminated'),
    (FEDORA.replace('Hash: SHA256', 'garbage header'), 'armor header'),
    (FEDORA.replace(FEDORA_BODY, FEDORA_BODY + '-not escaped\n'), 'not dash-escaped'),
    ('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n', 'no signature block'),
])
def test_clearsigned_malformed(text, message):
    with pytest.raises(ChecksumError, match=message):
        clearsigned_body(text)
    with pytest.raises(ChecksumError):
        parse(text)


# ---------------------------------------------------------------- JSON helpers

def test_debian_digest():
    raw = hashlib.sha512(b'debian').digest()
    encoded = base64.b64encode(raw).decode().rstrip('=')
    assert debian_digest_to_hex(f'sha512:{encoded}') == ('sha512', raw.hex())
    assert debian_digest_to_hex(f'SHA512:{base64.b64encode(raw).decode()}') == ('sha512', raw.hex())


@pytest.mark.parametrize('value, message', [
    ('nocolon', 'expected'),
    ('sha512:' + base64.b64encode(b'short').decode(), 'must be 64 bytes'),
    ('sha512:!!!!', 'invalid base64'),
    ('sha512:' + base64.urlsafe_b64encode(b'\xfb' * 64).decode(), 'invalid base64'),
    ('crc32:AAAA', 'unsupported'),
])
def test_debian_digest_bad(value, message):
    with pytest.raises(ChecksumError, match=message):
        debian_digest_to_hex(value)


def test_normalize_hex_and_algorithm_for_hex():
    assert normalize_hex(h('x').upper()) == ('sha256', h('x'))
    assert normalize_hex(h('x', 'md5'), 'MD5') == ('md5', h('x', 'md5'))
    for algorithm, length in ALGORITHMS.items():
        assert algorithm_for_hex('a' * length) == algorithm
    for bad in ('', 'xyz', h('x') + 'a', 'a' * 1000, ' '):
        with pytest.raises(ChecksumError):
            normalize_hex(bad)
    with pytest.raises(ChecksumError, match='must have 128'):
        normalize_hex(h('x'), 'sha512')
    with pytest.raises(ChecksumError):
        algorithm_for_hex('a' * 33)


def test_select_reuses_parsed_entries():
    entries = parse(ROCKY)
    latest = select(entries, 'Rocky-9-GenericCloud-Base.latest.x86_64.qcow2')
    versioned = [e.name for e in entries if e.hexdigest == latest.hexdigest and '.latest.' not in e.name]
    assert versioned == ['Rocky-9-GenericCloud-Base-9.6-20250531.0.x86_64.qcow2']


# ---------------------------------------------------------------- MultiHasher

def test_multihasher_verify():
    hasher = MultiHasher(['SHA256', 'md5', 'sha256'])
    assert hasher.algorithms == ('sha256', 'md5')
    hasher.update(b'abc')
    hasher.verify(Checksum('f', 'sha256', hashlib.sha256(b'abc').hexdigest(), 3))
    with pytest.raises(ChecksumError, match='sha256 mismatch for f: expected'):
        hasher.verify(Checksum('f', 'sha256', h('x')))
    with pytest.raises(ChecksumError, match='size mismatch'):
        hasher.verify(Checksum('f', 'md5', hashlib.md5(b'abc').hexdigest(), 4))
    with pytest.raises(ChecksumError, match='not computed'):
        hasher.hexdigest('sha512')
    with pytest.raises(ChecksumError):
        MultiHasher([])
    with pytest.raises(ChecksumError):
        MultiHasher(['crc32'])
    with pytest.raises(ChecksumError):
        MultiHasher(['shake_128'])  # needs a length


def test_multihasher_update_file_with_glance_algorithms(tmp_path):
    """Glance's os_hash_algo may be any fixed-length hashlib algorithm, beyond the vendors' set."""
    path = tmp_path / 'data'
    data = b'x' * (3 * (1 << 20) + 5)
    path.write_bytes(data)
    hasher = MultiHasher(['md5', 'SHA-384', 'SHA3-256']).update_file(path)
    assert hasher.size == len(data)
    assert hasher.hexdigests() == {'md5': hashlib.md5(data).hexdigest(), 'sha384': hashlib.sha384(data).hexdigest(),
                                   'sha3_256': hashlib.sha3_256(data).hexdigest()}
    assert hasher.hexdigest('sha3-256') == hashlib.sha3_256(data).hexdigest()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20), st.sets(st.sampled_from(sorted(ALGORITHMS)), min_size=1))
def test_multihasher_equals_hashlib(chunks, algorithms):
    hasher = MultiHasher(algorithms)
    for chunk in chunks:
        hasher.update(chunk)
    data = b''.join(chunks)
    assert hasher.hexdigests() == {a: hashlib.new(a, data).hexdigest() for a in algorithms}
    assert hasher.size == len(data)


# ---------------------------------------------------------------- property-based parsing

LINE_PIECES = st.sampled_from([
    '\n', '\r\n', ' ', '  ', ' *', '#', '# MD5 HASH\n', '# SHA512 HASH\n', 'SHA256 (', ') = ', ': 12 bytes',
    '..', '/', './', '\\', '\x00', '-----BEGIN PGP SIGNED MESSAGE-----\n', 'Hash: SHA256\n\n',
    '-----BEGIN PGP SIGNATURE-----\n', '-----END PGP SIGNATURE-----\n', '- ', h('p'), h('p', 'md5'), 'a.img',
])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.lists(st.one_of(LINE_PIECES, st.text(max_size=5))).map(''.join), st.binary()))
def test_parse_only_raises_checksum_error(text):
    try:
        entries = parse(text)
    except ChecksumError:
        return
    for entry in entries:
        assert len(entry.hexdigest) == ALGORITHMS[entry.algorithm]
        assert '..' not in entry.name.split('/') and not entry.name.startswith('/')
        assert all(c not in entry.name for c in '\x00\\\n\r')


NAMES = st.text(alphabet=string.ascii_letters + string.digits + '._-+~', min_size=1, max_size=40).filter(
    lambda n: n not in ('.', '..') and not n.startswith('-'))
ENTRIES = st.dictionaries(NAMES, st.tuples(st.sampled_from(sorted(ALGORITHMS)), st.binary(min_size=1, max_size=8)),
                          max_size=15)


def render(entries, grammar):
    lines = []
    for name, (algorithm, seed) in entries.items():
        digest = hashlib.new(algorithm, seed).hexdigest()
        lines.append({
            'gnu-text': f'{digest}  {name}',
            'gnu-binary': f'{digest} *{name}',
            'gnu-single': f'{digest} {name}',
            'bsd': f'# {name}: {len(seed)} bytes\n{algorithm.upper()} ({name}) = {digest}',
        }[grammar])
    return '\n'.join(lines) + '\n'


def expected_set(entries, with_size=False):
    return {Checksum(n, a, hashlib.new(a, s).hexdigest(), len(s) if with_size else None) for n, (a, s) in entries.items()}


@settings(max_examples=150, deadline=None)
@given(ENTRIES, st.sampled_from(['gnu-text', 'gnu-binary', 'gnu-single', 'bsd']), st.booleans())
def test_round_trip(entries, grammar, clearsign):
    text = render(entries, grammar)
    if clearsign:
        escaped = ''.join('- ' + line if line.startswith('-') else line for line in text.splitlines(True))
        text = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n' + escaped + FAKE_SIGNATURE
    assert set(parse(text)) == expected_set(entries, with_size=grammar == 'bsd')


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(NAMES, st.binary(max_size=8), max_size=10))
def test_round_trip_flatcar_sections(files):
    text = ''
    for algorithm in ('md5', 'sha1', 'sha512'):
        text += f'# {algorithm.upper()} HASH\n' + ''.join(f'{hashlib.new(algorithm, s).hexdigest()}  {n}\n' for n, s in files.items())
    expected = {Checksum(n, a, hashlib.new(a, s).hexdigest()) for n, s in files.items() for a in ('md5', 'sha1', 'sha512')}
    assert set(parse(text)) == expected
    for name, seed in files.items():
        assert find(text, name).hexdigest == hashlib.sha512(seed).hexdigest()


def test_parse_digest_is_the_one_algo_hex_parser():
    assert parse_digest('SHA256:' + 'AB' * 32) == ('sha256', 'ab' * 32)
    assert parse_digest('ab' * 64, bare=True) == ('sha512', 'ab' * 64)
    assert parse_digest('md5:' + 'AB' * 16, weak=True) == ('md5', 'ab' * 16)
    with pytest.raises(ChecksumError, match="'ab' is not <algorithm>:<hex>"):
        parse_digest('ab')
    with pytest.raises(ChecksumError, match="checksum 'crc32:0000': unsupported hash algorithm 'crc32'"):
        parse_digest('crc32:0000', what='checksum')
    with pytest.raises(ChecksumError, match='sha512 digest must have 128 hex characters'):
        parse_digest('sha512:' + 'ab' * 32)


@pytest.mark.parametrize('value', ['md5:' + 'a' * 32, 'sha1:' + 'a' * 40, 'sha224:' + 'a' * 56])
def test_weak_digests_alone_are_refused(value):
    with pytest.raises(ChecksumError, match='alone cannot identify a file; give a sha256 or stronger digest'):
        parse_digest(value)
    with pytest.raises(ChecksumError, match='alone cannot identify'):
        parse_digest(value.split(':', 1)[1], bare=True)
