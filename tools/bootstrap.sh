#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine, idempotently:
# Debian packages (only the missing ones) and the collection's virtualenv in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# The second line: what the test mirror's bootable images are built with (DEBS of
# tools/upstream_mirror/bootable.py and bootable_aarch64.py: grub-common's grub-mkimage; the kernels,
# busybox and GRUB's arm64 modules are only downloaded). libvirt and QEMU for the local cloud's real
# boots, qemu-system-arm and the aarch64 UEFI firmware included, come from its own installer
# (tools/localcloud/install.py).
# promtool (prometheus) checks the metrics the sync writes; the third line builds and runs the
# execution environment (tools/execution_environment); aria2 (aria2c) is what OIM --verify-checksum
# downloads with, benchmarks/peer.py's third contender.
packages=(qemu-utils gnupg gpgv rsync shellcheck chromium curl
          mtools syslinux syslinux-common dosfstools grub-common prometheus
          podman runc mmdebstrap aria2)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rebuild the venv only when the requirements change.
stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt tests/requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "bootstrap: creating .venv"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r tests/requirements.txt
    echo "$wanted" > "$stamp"
fi
