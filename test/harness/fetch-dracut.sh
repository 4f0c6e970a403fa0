#!/usr/bin/env bash
# Fetch Debian's dracut shell libraries for test/dracut.test.ts, which runs
# dracut's own cmdline parsers (parse_iscsi_root, ip_to_var, ...) on the
# arguments lib/kernel/dracut.ts generates.
#
# The packages are only downloaded and unpacked, never installed: dracut
# conflicts with initramfs-tools, which this host (and CI) keeps.
#
#   bash test/harness/fetch-dracut.sh        # prints the unpacked root
#
# Idempotent: a second run finds "$CACHE/root/.complete" and does nothing.
# Cache directory: $DRACUT_CACHE, default /var/cache/iscsi-dracut.
# Needs the Debian apt lists (apt-get update) and network access to the
# Debian mirror on the first run only.
set -euo pipefail

CACHE=${DRACUT_CACHE:-/var/cache/iscsi-dracut}
ROOT=$CACHE/root
# dracut-core carries 99base/dracut-lib.sh and the dracut-util binary (the
# real getarg implementation); dracut-network carries 40network/net-lib.sh
# (parse_iscsi_root, ip_to_var) and 95iscsi. Debian 12 ships both as 059-4.
PACKAGES="dracut-core dracut-network"
NEEDED="
usr/lib/dracut/modules.d/99base/dracut-lib.sh
usr/lib/dracut/modules.d/40network/net-lib.sh
usr/lib/dracut/modules.d/95iscsi/parse-iscsiroot.sh
usr/lib/dracut/modules.d/95iscsi/iscsiroot.sh
usr/lib/dracut/dracut-util
"

if [ -f "$ROOT/.complete" ]; then
    echo "$ROOT"
    exit 0
fi

mkdir -p "$CACHE/debs"
cd "$CACHE/debs"
for pkg in $PACKAGES; do
    if ! ls "${pkg}"_*.deb > /dev/null 2>&1; then
        if ! apt-cache show "$pkg" > /dev/null 2>&1; then
            echo "fetch-dracut: apt knows no package '$pkg' (run apt-get update?)" >&2
            exit 1
        fi
        # Root-owned cache dir: let apt write as root instead of warning
        # about the _apt sandbox user.
        apt-get -q -o APT::Sandbox::User=root download "$pkg" >&2
    fi
done

# Unpack into a fresh directory and move it into place, so a concurrent or
# interrupted run never leaves a half-populated root behind.
tmp=$(mktemp -d "$CACHE/root.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for deb in ./*.deb; do
    dpkg-deb -x "$deb" "$tmp"
done
for f in $NEEDED; do
    if [ ! -e "$tmp/$f" ]; then
        echo "fetch-dracut: $f missing from the unpacked packages" >&2
        exit 1
    fi
done
# In the initramfs dracut-util is installed as dracut-getarg/dracut-getargs
# (99base/module-setup.sh); it picks its mode from argv[0].
mkdir -p "$tmp/bin"
ln -s ../usr/lib/dracut/dracut-util "$tmp/bin/dracut-getarg"
ln -s ../usr/lib/dracut/dracut-util "$tmp/bin/dracut-getargs"
dpkg-deb -f "$(ls ./dracut-core_*.deb | head -n1)" Version > "$tmp/.version"
touch "$tmp/.complete"

if [ -f "$ROOT/.complete" ]; then
    # Another run finished first.
    echo "$ROOT"
    exit 0
fi
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
trap - EXIT
echo "$ROOT"
