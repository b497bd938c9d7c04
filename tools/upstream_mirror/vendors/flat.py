"""Vendors that keep every build of a release in one directory (Rocky, AlmaLinux, provider).

Versioned file names sit next to ``latest`` alias names (hard links, same bytes) and a
directory-wide checksum file. When the minor version moves on, the previous minor's builds move
to a vault tree, as dl.rockylinux.org/vault and vault.almalinux.org do.
"""

from __future__ import annotations

import os

from .base import Vendor


class FlatDir(Vendor):
    """One directory per release and arch (``current_dir``); methods take the collection's arch name."""

    variants = ('',)
    # Path under the host where ``<maj.min>`` names the current minor (a symlink to ``<major>``),
    # like the real /pub/rocky/9.6 and /almalinux/9.6; None: no such directory.
    minor_parent = None

    # -- to implement -------------------------------------------------------------------------
    def current_dir(self, ctx, release, arch='x86_64'):
        raise NotImplementedError

    def vault_dir(self, ctx, release, build, arch='x86_64'):
        """Directory for builds of an older minor; default: they stay where they are."""
        return self.current_dir(ctx, release, arch)

    def versioned_name(self, release, build, variant, arch='x86_64'):
        raise NotImplementedError

    def alias_names(self, release, variant, arch='x86_64'):
        raise NotImplementedError

    def write_checksums(self, ctx, release, directory, builds):
        raise NotImplementedError

    # -- shared behaviour ---------------------------------------------------------------------
    def release_root(self, ctx, release):
        return self.current_dir(ctx, release)

    def build_dir(self, ctx, release, build, arch='x86_64'):
        newest = ctx.state['releases']['%s/%s' % (self.distro, release)]['builds'][-1]
        if build.get('minor') == newest.get('minor'):
            return self.current_dir(ctx, release, arch)
        return self.vault_dir(ctx, release, build, arch)

    def image_path(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.build_dir(ctx, release, build, arch),
                            self.versioned_name(release, build, self.variants[0], arch))

    def write_build(self, ctx, release, build):
        for arch in self.arches:
            directory = self.current_dir(ctx, release, arch)
            for variant in self.variants:
                ctx.write(os.path.join(directory, self.versioned_name(release, build, variant, arch)),
                          self.qcow2(ctx, release, build, variant, arch), build['published'])

    def build_files(self, release, build, arch='x86_64'):
        return [self.versioned_name(release, build, variant, arch) for variant in self.variants]

    def drop_build(self, ctx, release, build):
        for arch in self.arches:
            current, vault = self.current_dir(ctx, release, arch), self.vault_dir(ctx, release, build, arch)
            for directory in sorted({current, vault}):
                for name in self.build_files(release, build, arch):
                    for suffix in ('', '.CHECKSUM'):
                        ctx.remove(os.path.join(directory, name + suffix))
                if os.path.isdir(directory) and not [n for n in os.listdir(directory) if n.endswith('.qcow2')]:
                    ctx.remove(directory)
                    ctx.prune_empty(directory, ctx.www)

    def drop_release(self, ctx, release):
        builds = ctx.state['releases']['%s/%s' % (self.distro, release)]['builds']
        for arch in self.arches:
            for build in builds:
                ctx.remove(self.vault_dir(ctx, release, build, arch))
            ctx.remove(self.current_dir(ctx, release, arch))
        parent = ctx.path(self.host, *self.minor_parent) if self.minor_parent else None
        for name in os.listdir(parent) if parent and os.path.isdir(parent) else []:
            if name.startswith(release + '.') and os.path.islink(os.path.join(parent, name)):
                ctx.remove(os.path.join(parent, name))

    def publish(self, ctx, release, builds):
        for arch in self.arches:
            self.publish_arch(ctx, release, builds, arch)
        if self.minor_parent:
            parent = ctx.path(self.host, *self.minor_parent)
            for name in os.listdir(parent):
                if name.startswith(release + '.') and os.path.islink(os.path.join(parent, name)):
                    os.unlink(os.path.join(parent, name))
            ctx.symlink(release, os.path.join(parent, '%s.%d' % (release, builds[-1]['minor'])))

    def publish_arch(self, ctx, release, builds, arch):
        current = self.current_dir(ctx, release, arch)
        by_dir = {}
        for build in builds:
            target = self.build_dir(ctx, release, build, arch)
            by_dir.setdefault(target, []).append(build)
            if target != current:
                for name in self.build_files(release, build, arch):
                    source = os.path.join(current, name)
                    if os.path.exists(source):
                        os.makedirs(target, exist_ok=True)
                        os.replace(source, os.path.join(target, name))
                        ctx.remove(source + '.CHECKSUM')
        newest = builds[-1]
        for variant in self.variants:
            source = os.path.join(current, self.versioned_name(release, newest, variant, arch))
            for alias in self.alias_names(release, variant, arch):
                ctx.link(source, os.path.join(current, alias))
        for directory, here in by_dir.items():
            self.write_checksums(ctx, release, directory, here)

    def release_url(self, ctx, release, build, arch='x86_64'):
        """Canonical URL of ``build`` in its release's own directory (``/pub/rocky/9.6/...``)."""
        current = os.path.relpath(self.current_dir(ctx, release, arch), ctx.path(self.host, *self.minor_parent))
        minor = '%s.%d' % (release, build['minor'])
        return ctx.url(os.path.join(ctx.path(self.host, *self.minor_parent), minor, *current.split(os.sep)[1:],
                                    self.versioned_name(release, build, self.variants[0], arch)))

    def describe_flat(self, ctx, release, build, arch='x86_64', **fields):
        path = self.image_path(ctx, release, build, arch)
        alias = self.alias_names(release, self.variants[0], arch)[0]
        fields.setdefault('pointer_url', ctx.url(os.path.join(self.current_dir(ctx, release, arch), alias)))
        return self.info(ctx, release, build, path, arch, **fields)
