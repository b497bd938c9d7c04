"""Local stand-in for the cloud-image vendors: real layouts, real tiny qcow2, test GPG keys.

Every vendor host is served under ``http://127.0.0.1:<port>/<host>/<path>``, so a canonical URL
maps onto the mirror by a prefix rewrite::

    https://cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS
    http://127.0.0.1:PORT/cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS

Documents that embed absolute URLs (FCOS ``stable.json``, ``fedoraproject.org/releases.json``)
keep the canonical ``https://`` URLs, exactly as upstream: clients rewrite them. Hosts:
cloud-images.ubuntu.com (server + minimal), cloud.debian.org (alias cdimage.debian.org),
dl.rockylinux.org, repo.almalinux.org (+ vault.almalinux.org), download.fedoraproject.org
(302 -> dl.fedoraproject.org), fedoraproject.org, builds.coreos.fedoraproject.org,
stable.release.flatcar-linux.net, download.cirros-cloud.net, github.com (302 ->
objects.githubusercontent.com), artifacts.provider.test (Windows, provider-built).

Python API::

    from upstream_mirror import Mirror, MirrorServer
    mirror = Mirror(tmp_path / 'mirror', today=datetime.date(2026, 11, 16)).build()   # see below
    # Each release's newest x86_64 build boots (bootable.py: Debian's cloud kernel + a busybox initramfs
    # printing "cloudimages-boot: <distro> <release> <build>" and "login:" on ttyS0), ~16 MB each;
    # history builds, other arches/variants and Windows stay tiny stand-ins. 253 MB; built in 45 s on
    # 2 cores at load 15 (stand-ins only, Mirror(..., bootable=False): 10 s, 3 MB, same load). The
    # kernel/initramfs base is built once per machine (apt-get download, cached with its .debs). The
    # aarch64 base (bootable_aarch64.py: arm64 kernel, GRUB arm64-efi, UEFI) is built on first use:
    # ImageFactory.bootable_qcow2(..., arch='aarch64').
    info = mirror.releases['ubuntu', '24.04']     # ReleaseInfo: version, image_url, pointer_url,
                                                   # checksum_url, *_signature_url, sha256/sha512/md5, ...
    mirror.releases_of('aarch64')                 # the same for aarch64 (every vendor but Windows, in its
                                                   # layout: arm64, arm64-usr...); mirror.release(d, r, 'aarch64'),
                                                   # mirror.history(d, r, 'aarch64'); ReleaseInfo.arch says which.
                                                   # aarch64 disks are stand-ins until bootable.ARCHES lists it.
    mirror.keyring.trusted_keyring                # exported public key (binary; .public_key(armored=True))
    mirror.keyring.trusted_fingerprint            # and .untrusted_fingerprint / .untrusted_keyring
    mirror.advance()                              # +1 day, every live release publishes a new build
    mirror.advance(bump=('rocky',))               # ... starting a new minor (Rocky/AlmaLinux) or major (Flatcar)
    mirror.advance(new_releases=[('fedora', '45')])   # a release appears (Fedora 45 is upcoming; a
                                                   # release left out by build(without=[...]) too)
    mirror.eol('debian', '11')                    # release disappears from tree and indexes; Ubuntu
                                                   # keeps its last build, "supported": false in streams
    mirror.inject('ubuntu', '24.04', 'bad_signature', mode='untrusted')   # content faults, see Mirror.inject
    mirror.inject('ubuntu', '24.04', 'unbootable')  # signed and checksummed, but its kernel panics at boot
    mirror.close()                                # stops the gpg-agent of the mirror's GNUPGHOME

    with MirrorServer(mirror) as server:          # threaded, 127.0.0.1, free port
        server.url, server.base_for('cloud.debian.org'), server.rewrite(info.image_url)
        server.set_fault(info.image_url, 'drop', after=1000)   # drop | error | slow | corrupt | not_found |
                                                               # redirect_loop | scheme_change | truncate
        server.clear_faults()
        server.requests, server.count('https://cloud-images.ubuntu.com/'), server.reset_requests()

Distro keys of ``Mirror.releases``: ubuntu, ubuntu-minimal (26.04, 24.04, 22.04), debian (13, 12,
11; 14 upcoming), rocky (9, 10; 11 upcoming), almalinux (9, 10; 11 upcoming), fedora (43, 44; 45
upcoming), fedora-coreos (stable), flatcar (stable), cirros (0.6), windows (2022, 2025).
``catalog.json`` in the mirror root holds the same data. The release lists the collection announces
from follow: deb.debian.org/debian/dists/ (``Debian<N>.<point>/`` per released version), the top
directories dl.rockylinux.org/pub/rocky/ and repo.almalinux.org/almalinux/ (majors, point releases).

CLI (``PYTHONPATH=tools python -m upstream_mirror ...``): ``build DIR [--today YYYY-MM-DD]
[--without ubuntu-26.04]``, ``serve DIR [--port N] [--host H]``, ``advance DIR [--days N] [--bump
DISTRO] [--new-release fedora-45|debian-14|rocky-11|almalinux-11]``,
``eol DIR DISTRO RELEASE``, ``inject DIR DISTRO RELEASE FAULT [key=value ...]``, ``catalog DIR``.
"""

from __future__ import annotations

from .catalog import ReleaseInfo
from .mirror import DEFAULT_TODAY, Mirror
from .server import MirrorServer

__all__ = ['DEFAULT_TODAY', 'Mirror', 'MirrorServer', 'ReleaseInfo']
