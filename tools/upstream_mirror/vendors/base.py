"""Vendor writer interface and helpers shared by the per-vendor modules.

A vendor writer is stateless; the mirror keeps, per release, the list of builds
(``{'version', 'day', 'published', ...}``, oldest first) in ``state.json`` and calls:

* ``next_build(ctx, release, previous, day, bump)`` -> the next build record (version grammar);
* ``write_build(ctx, release, build)``            -> payload files of one build;
* ``drop_build(ctx, release, build)``             -> remove a build that fell out of retention;
* ``publish(ctx, release, builds)``               -> everything derived: checksums, signatures,
  pointers, per-release indexes (rerun after every change, idempotent);
* ``publish_distro(ctx, live, ended)``            -> indexes spanning releases (streams, JSON);
* ``drop_release(ctx, release)``                  -> end of life (Ubuntu keeps the last build, marked
  unsupported in its streams: ``ended``);
* ``describe(ctx, release, build, arch)``         -> :class:`ReleaseInfo` of a build.

Every vendor builds each release for each of its ``arches`` (the collection's names, x86_64 and
aarch64; ``spell`` gives the vendor's own: Ubuntu's arm64, Flatcar's arm64-usr) in its real
layout. Which of them boot is ``boots``: the disks of bootable.ARCHES, the rest tiny stand-ins.
"""

from __future__ import annotations

import datetime
import hashlib
import os

from .. import bootable, images
from ..catalog import ReleaseInfo
from ..context import epoch, iso

MIB = 1 << 20
PRIMARY_VARIANTS = ('', 'Generic', 'Base')
ARCHES = ('x86_64', 'aarch64')
TRAVERSAL_NAME = '../../../../etc/cron.d/upstream-mirror-traversal'


class Vendor:
    distro = ''
    host = ''
    releases = {}          # release key -> vendor metadata
    retention = 3          # builds kept per release, like the real trees (older ones get deleted)
    hour = (12, 0)         # simulated time of day the vendor publishes
    virtual_size = 16 * MIB
    compression = None     # 'xz' / 'bz2' when the published artifact is compressed
    signed = True          # whether any signature is published (bad_signature applies)
    bootable = True        # primary artifact is a disk that really boots (see bootable.py)
    arches = ARCHES        # what every release is built for, in the collection's names
    arch_names = {}        # the vendor's spelling where it differs from the collection's

    def spell(self, arch):
        return self.arch_names.get(arch, arch)

    def signs(self, release):
        """Whether ``release`` publishes a signature (Rocky: 10 does, 9 does not)."""
        return self.signed
    upcoming = ()          # releases of ``releases`` not built by build(): they appear with advance(new_releases=)

    # -- to implement -------------------------------------------------------------------------
    def next_build(self, ctx, release, previous, day, bump=False):
        raise NotImplementedError

    def write_build(self, ctx, release, build):
        raise NotImplementedError

    def publish(self, ctx, release, builds):
        raise NotImplementedError

    def image_path(self, ctx, release, build, arch='x86_64'):
        """The primary artifact of a build (x86_64's is what content faults replace)."""
        raise NotImplementedError

    def describe(self, ctx, release, build, arch='x86_64'):
        raise NotImplementedError

    def release_root(self, ctx, release):
        raise NotImplementedError

    # -- defaults -----------------------------------------------------------------------------
    def drop_build(self, ctx, release, build):
        ctx.remove(self.build_dir(ctx, release, build))

    def publish_distro(self, ctx, live, ended=None):
        """Cross-release indexes; ``live`` maps release key -> builds (oldest first), ``ended`` likewise
        for releases at end of life."""

    def drop_release(self, ctx, release):
        ctx.remove(self.release_root(ctx, release))

    def checksum_fault(self, ctx, release, build):
        """Extra checksum entry naming a ``../`` path when the traversal fault is injected."""
        return bool(ctx.faults(self.distro, release, build['version']).get('checksum_traversal'))

    def signature_fault(self, ctx, release, build):
        return ctx.faults(self.distro, release, build['version']).get('bad_signature')

    def put_payload(self, ctx, release, build, qcow2, compressed=None, uncompressed=None, arch='x86_64'):
        """(Re)place a build's primary artifact; compressed vendors store the qcow2's own digest."""
        if self.compression:
            if qcow2 is None and compressed is None and not self.boots(build, arch=arch):
                qcow2 = self.qcow2(ctx, release, build, arch=arch)
            if compressed is None and qcow2 is None:  # the bootable disk: cached streams, see bootable.py
                compressed, uncompressed = ctx.images.bootable_compressed(
                    self.compression, self.boot_id(release, build), self.boot_fault(ctx, release, build),
                    self.virtual_size)
            if compressed is None:
                compressed = images.COMPRESSORS[self.compression](qcow2)
                uncompressed = {'sha256': hashlib.sha256(qcow2).hexdigest(), 'size': len(qcow2)}
            set_uncompressed(build, arch, uncompressed)
            qcow2 = compressed
        ctx.write(self.image_path(ctx, release, build, arch), qcow2, build['published'])

    # -- helpers --------------------------------------------------------------------------------
    def make_build(self, day, version, **extra):
        published = epoch(day, *self.hour)
        return dict(version=version, day=day.isoformat(), published=published, **extra)

    @staticmethod
    def day_of(build):
        return datetime.date.fromisoformat(build['day'])

    def label(self, release, build, variant='', arch='x86_64'):
        label = 'upstream-mirror %s %s %s %s' % (self.distro, release, build['version'], variant)
        return label if arch == 'x86_64' else '%s %s' % (label, arch)

    def boot_id(self, release, build):
        """What the bootable disk prints: ``cloudimages-boot: <distro> <release> <version>``."""
        return '%s/%s/%s' % (self.distro, release, build['version'])

    def boots(self, build, variant='', arch='x86_64'):
        """Only the primary artifact of an arch with a bootable disk (bootable.ARCHES) boots; other
        arches and variants stay tiny stand-ins, and so do the history builds a mirror starts with
        (``stand_in``): 16 MB each would make it slow to build."""
        return self.bootable and arch in bootable.ARCHES and variant in PRIMARY_VARIANTS \
            and not build.get('stand_in')

    def qcow2(self, ctx, release, build, variant='', arch='x86_64'):
        if self.boots(build, variant, arch):
            return ctx.images.bootable_qcow2(self.boot_id(release, build), self.boot_fault(ctx, release, build),
                                             self.virtual_size)
        return ctx.images.qcow2(self.label(release, build, variant, arch), self.virtual_size)

    def boot_fault(self, ctx, release, build):
        return 'panic' if ctx.faults(self.distro, release, build['version']).get('unbootable') else ''

    def info(self, ctx, release, build, path, arch='x86_64', **fields):
        """ReleaseInfo with digests of ``path`` filled in; ``fields`` supplies URLs and extras."""
        fields.setdefault('pointer_url', None)
        fields.setdefault('checksum_url', None)
        fields.setdefault('checksum_signature_url', None)
        fields.setdefault('image_signature_url', None)
        fields.setdefault('signature_kind', None)
        fields.setdefault('index_url', None)
        faults = dict(ctx.faults(self.distro, release, build['version']))
        return ReleaseInfo(
            distro=self.distro, release=release, version=build['version'], build_date=build['day'],
            published=iso(build['published']), file_name=os.path.basename(path), image_url=ctx.url(path),
            size=ctx.size(path), sha256=ctx.digest(path, 'sha256'), sha512=ctx.digest(path, 'sha512'),
            md5=ctx.digest(path, 'md5'), local_path=path, compression=self.compression,
            virtual_size=self.virtual_size, faults=faults, arch=arch, **fields)

    @staticmethod
    def files_in(directory, exclude=()):
        """Regular files directly in ``directory`` (sorted), skipping names in ``exclude``."""
        if not os.path.isdir(directory):
            return []
        return sorted(name for name in os.listdir(directory)
                      if name not in exclude and os.path.isfile(os.path.join(directory, name)))

    @staticmethod
    def newest_mtime(directory, names):
        return max(os.path.getmtime(os.path.join(directory, name)) for name in names)


def set_uncompressed(build, arch, uncompressed):
    """Record the qcow2 inside a compressed artifact (x86_64's under ``uncompressed``, as before)."""
    if arch == 'x86_64':
        build['uncompressed'] = uncompressed
    else:
        build.setdefault('uncompressed_arch', {})[arch] = uncompressed


def uncompressed_of(build, arch):
    return build['uncompressed'] if arch == 'x86_64' else build['uncompressed_arch'][arch]
