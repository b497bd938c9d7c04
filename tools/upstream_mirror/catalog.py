"""What the mirror promises about each release's newest build (``Mirror.releases``)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class ReleaseInfo:
    """Newest build of one release, with canonical (``https://<vendor host>/...``) URLs.

    Map a URL onto a running mirror with ``MirrorServer.rewrite(url)``. Digests describe the
    published file (the compressed one for FCOS/Flatcar); ``uncompressed_*`` the qcow2 inside.
    """

    distro: str
    release: str
    version: str                  # vendor build id: serial, YYYYMMDD-N, 9.6-20261116.0, 44.20261116.3.0 ...
    build_date: str               # YYYY-MM-DD
    published: str                # ISO-8601 UTC, also the file's Last-Modified
    file_name: str
    image_url: str                # versioned URL of this build
    pointer_url: str | None       # same bytes via release/, latest/, current/, .latest. names
    checksum_url: str | None
    checksum_signature_url: str | None   # signature over the checksum file (may be the file itself when clearsigned)
    image_signature_url: str | None      # signature over the image itself (FCOS, Flatcar)
    signature_kind: str | None           # detached-armored | detached-binary | clearsigned
    index_url: str | None                # discovery document (streams, releases.json, stable.json, version file)
    size: int
    sha256: str
    sha512: str
    md5: str
    local_path: str
    disk_format: str = 'qcow2'
    compression: str | None = None
    uncompressed_size: int | None = None
    uncompressed_sha256: str | None = None
    virtual_size: int | None = None
    arch: str = 'x86_64'          # the collection's name (the vendor may spell it arm64, arm64-usr)
    faults: dict = dataclasses.field(default_factory=dict)
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def key(self):
        return (self.distro, self.release)

    def to_dict(self):
        return dataclasses.asdict(self)
