#!/bin/bash
# Kernel lab setup: installs the host packages the lab needs, fetches the
# kernel Debian ships (the dependency of linux-image-amd64) into a cache,
# and builds the busybox initramfs whose /init is test/kernel-lab/init.sh.
#
# Idempotent: packages already installed are not reinstalled, the kernel .deb
# is downloaded and extracted once, the initramfs is rebuilt every time (it
# takes well under a second, and then always matches init.sh).
#
# Nothing binary is written into the repository: everything goes to
# ${KLAB_CACHE:-/var/cache/iscsi-klab}. The result is described by
# $KLAB_CACHE/lab.env (KLAB_KVER, KLAB_KERNEL, KLAB_INITRD), read by run.sh.
#
# Fails loudly (exit status non-zero, message on stderr) when anything is
# missing; it never "skips".
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KLAB_CACHE:-/var/cache/iscsi-klab}

die() { echo "kernel-lab setup: $*" >&2; exit 1; }
say() { echo "kernel-lab setup: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, depmod into the cache)"

# --- 1. host packages -------------------------------------------------------
# qemu-system-x86: the emulator (TCG; KVM hangs on these machines).
# busybox-static: the initramfs userland (static, so it needs no libraries).
# kmod: depmod/modprobe --show-depends to order modules from modules.dep.
# cpio: the initramfs archive. open-iscsi: iscsid/iscsiadm, which the guest
# runs from the host root over 9p. ipxe-qemu: the NIC option ROMs for the
# firmware (iBFT) path. ovmf: UEFI firmware. tgt: the host-side target.
PKGS="qemu-system-x86 busybox-static kmod cpio open-iscsi ipxe-qemu ovmf tgt gzip"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing || die "apt-get install failed:$missing"
fi
for c in qemu-system-x86_64 busybox depmod modprobe cpio iscsid iscsiadm tgtd tgtadm dpkg-deb gzip; do
	command -v "$c" >/dev/null 2>&1 || die "required command '$c' not found after installing packages"
done
# busybox must be the static one: the initramfs has no libc.
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (package busybox-static)"
if file_out=$(LC_ALL=C ldd "$BUSYBOX" 2>&1); then
	case "$file_out" in *"not a dynamic executable"*|*"statically linked"*) ;; *) die "$BUSYBOX is not static (install busybox-static)";; esac
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"

# --- 2. the kernel ----------------------------------------------------------
# The metapackage linux-image-amd64 depends on exactly one versioned image
# package (e.g. linux-image-6.1.0-56-amd64): that is "the kernel Debian 12
# ships". Resolve it through apt so the lab follows Debian's updates.
resolve_image_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
IMG_PKG=$(resolve_image_pkg || true)
if [ -z "$IMG_PKG" ]; then
	apt-get update -qq || die "apt-get update failed"
	IMG_PKG=$(resolve_image_pkg || true)
fi
[ -n "$IMG_PKG" ] || die "cannot resolve the dependency of linux-image-amd64 (apt-cache depends)"
KVER=${IMG_PKG#linux-image-}

mkdir -p "$CACHE/deb"
DEB=$(ls "$CACHE/deb/${IMG_PKG}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$DEB" ]; then
	say "downloading $IMG_PKG"
	# apt-get download writes to the cwd; as root it warns that the _apt
	# sandbox user cannot write there, which is harmless.
	(cd "$CACHE/deb" && apt-get download "$IMG_PKG") || die "apt-get download $IMG_PKG failed"
	DEB=$(ls "$CACHE/deb/${IMG_PKG}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$DEB" ] || die "apt-get download produced no .deb for $IMG_PKG"
fi

ROOT="$CACHE/root-$KVER"
if [ ! -e "$ROOT/.extracted" ]; then
	say "extracting $(basename "$DEB")"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	dpkg-deb -x "$DEB" "$ROOT" || die "dpkg-deb -x $DEB failed"
	# The .deb ships no modules.dep (the postinst normally runs depmod).
	depmod -b "$ROOT" "$KVER" || die "depmod -b $ROOT $KVER failed"
	touch "$ROOT/.extracted"
fi
KERNEL="$ROOT/boot/vmlinuz-$KVER"
[ -f "$KERNEL" ] || die "kernel image $KERNEL missing from $DEB"
MODDIR="$ROOT/lib/modules/$KVER"
[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing (depmod failed?)"

# --- 3. module load order ---------------------------------------------------
# Wanted modules, in the order /init loads them. Each one's dependencies are
# resolved from modules.dep by kmod's own resolver (modprobe --show-depends),
# so a dependency always comes before its user and each file appears once.
# crc32c_generic is listed explicitly before libcrc32c: iscsi_tcp's login
# needs a crc32c implementation and crc32c-intel may refuse to load under TCG.
# e1000 (the iPXE NIC), iscsi_boot_sysfs + iscsi_ibft (/sys/firmware/ibft) and
# target_core_mod + iscsi_target_mod (the guest's own LIO target) are loaded
# for the firmware and discovery-CHAP tests.
WANT="virtio_pci virtio_net e1000 9pnet_virtio 9p crc32c_generic libcrc32c
scsi_transport_iscsi libiscsi libiscsi_tcp iscsi_tcp sd_mod
iscsi_boot_sysfs iscsi_ibft target_core_mod target_core_file target_core_iblock iscsi_target_mod"

STAGE=$(mktemp -d "$CACHE/initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/bin" "$STAGE/modules" "$STAGE/proc" "$STAGE/sys" "$STAGE/dev" \
	"$STAGE/host" "$STAGE/results" "$STAGE/tmp"
cp "$BUSYBOX" "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"

: >"$STAGE/modules/order"
seen=" "
n=0
for m in $WANT; do
	deps=$(modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" 2>&1) ||
		die "cannot resolve module $m in $KVER: $deps"
	while read -r kind path _rest; do
		case "$kind" in
		insmod)
			base=$(basename "$path")
			case "$seen" in *" $base "*) continue ;; esac
			seen="$seen$base "
			n=$((n + 1))
			name=$(printf '%03d-%s' "$n" "$base")
			case "$base" in
			*.ko.xz) xz -dc "$path" >"$STAGE/modules/${name%.xz}"; name=${name%.xz} ;;
			*.ko.zst) zstd -qdc "$path" >"$STAGE/modules/${name%.zst}"; name=${name%.zst} ;;
			*.ko.gz) gzip -dc "$path" >"$STAGE/modules/${name%.gz}"; name=${name%.gz} ;;
			*.ko) cp "$path" "$STAGE/modules/$name" ;;
			*) die "unexpected module file $path" ;;
			esac
			echo "$name" >>"$STAGE/modules/order"
			;;
		builtin) ;; # compiled into the kernel: nothing to load
		*) die "unexpected modprobe --show-depends output for $m: $kind $path" ;;
		esac
	done <<<"$deps"
done
[ "$n" -gt 0 ] || die "no modules resolved"

cp "$HERE/init.sh" "$STAGE/init"
chmod 0755 "$STAGE/init"
echo "$KVER" >"$STAGE/kver"

INITRD="$CACHE/initrd-$KVER.gz"
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -6 >"$INITRD.tmp") ||
	die "building the initramfs failed"
mv -f "$INITRD.tmp" "$INITRD"

cat >"$CACHE/lab.env.tmp" <<EOF
KLAB_KVER=$KVER
KLAB_KERNEL=$KERNEL
KLAB_INITRD=$INITRD
EOF
mv -f "$CACHE/lab.env.tmp" "$CACHE/lab.env"
say "ready: kernel $KVER, $n modules, initramfs $INITRD ($(du -k "$INITRD" | cut -f1) KiB)"
