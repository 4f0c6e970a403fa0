#!/bin/bash
# Boots the kernel lab (Debian's kernel + the busybox initramfs built by
# setup.sh) in qemu with TCG and runs COMMAND inside `chroot /host`, where
# /host is this machine's root, read-only, so the project tree, node and
# Debian's iscsid/iscsiadm are all at their usual paths.
#
#   run.sh [options] -- COMMAND [ARG...]
#
# Options:
#   --timeout S      kill qemu after S seconds (default 300) and fail
#   --results DIR    results directory (default: a new /tmp/klab-run.XXXXXX);
#                    shared writable with the guest at the same path, which
#                    the command finds in $KLAB_RESULTS
#   --log FILE       guest console log (default DIR/console.log)
#   --verbose        also stream the guest console to stderr
#   --append ARGS    extra kernel command line arguments
#   --mem MB         guest memory (default 1024)
#   --ipxe FILE      boot through qemu's iPXE ROM on an e1000 NIC instead of
#                    -kernel: FILE holds iPXE commands (e.g. sanhook ...);
#                    run.sh appends the lines that load and boot the lab
#                    kernel over qemu's TFTP
#   --uefi           boot with OVMF (UEFI) instead of SeaBIOS (with --ipxe)
#   --shell-on-fail  start a console shell in the guest if /init fails
#
# stdout: the command's stdout+stderr (as captured in the guest). Exit status:
# the command's, or 124 on timeout, 125 when the lab itself failed (no
# boot, a panic, a missing share). Failures are loud: a message and the end
# of the console log on stderr.
#
# The guest reaches this host's loopback as 10.0.2.2 (qemu user networking);
# it has no default route, so it reaches nothing else. KVM hangs on these
# machines: TCG only. One qemu at a time per host: runs are serialized with
# a lock in the cache directory.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KLAB_CACHE:-/var/cache/iscsi-klab}
ME="kernel-lab run"

die() { echo "$ME: $*" >&2; exit 125; }

TIMEOUT=300
RES=""
LOGF=""
VERBOSE=""
EXTRA_APPEND=""
MEM=1024
IPXE=""
UEFI=""
SHELL_ON_FAIL=""
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--results) RES=${2:?}; shift 2 ;;
	--log) LOGF=${2:?}; shift 2 ;;
	--verbose) VERBOSE=1; shift ;;
	--append) EXTRA_APPEND=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--ipxe) IPXE=${2:?}; shift 2 ;;
	--uefi) UEFI=1; shift ;;
	--shell-on-fail) SHELL_ON_FAIL=1; shift ;;
	--) shift; break ;;
	*) die "unknown option '$1' (usage: run.sh [options] -- COMMAND...)" ;;
	esac
done
[ $# -ge 1 ] || die "no command (usage: run.sh [options] -- COMMAND...)"
case "$TIMEOUT" in '' | *[!0-9]*) die "--timeout wants whole seconds" ;; esac

[ "$(id -u)" = 0 ] || die "must run as root (the guest chroot runs iscsid, which needs uid 0 in the guest; qemu's 9p passthrough needs to read the whole host root)"
[ -r "$CACHE/lab.env" ] || die "$CACHE/lab.env missing: run test/kernel-lab/setup.sh first"
# shellcheck disable=SC1091
. "$CACHE/lab.env"
for f in "$KLAB_KERNEL" "$KLAB_INITRD"; do
	[ -r "$f" ] || die "$f missing: run test/kernel-lab/setup.sh"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run setup.sh"

if [ -z "$RES" ]; then
	RES=$(mktemp -d /tmp/klab-run.XXXXXX) || die "mktemp failed"
else
	mkdir -p "$RES" || die "cannot create $RES"
fi
RES=$(cd "$RES" && pwd -P)
case "$RES" in *[!A-Za-z0-9._/+-]*) die "results path '$RES' has characters the kernel command line cannot carry" ;; esac
rm -f "$RES/exit-status" "$RES/booted" "$RES/timings" "$RES/output.log" "$RES/init.log" "$RES/lab-error"
[ -n "$LOGF" ] || LOGF="$RES/console.log"
: >"$LOGF" || die "cannot write $LOGF"

# The command, as a script in the results share. Single-quote every word so
# the guest's /bin/sh (dash) sees exactly these argv strings.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo '#!/bin/sh'
	echo "# written by kernel-lab run.sh"
	printf 'cd %s 2>/dev/null || cd /\n' "$(quote "$PWD")"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(quote "$a")"; done
	printf '\n'
} >"$RES/cmd.sh"

APPEND="console=ttyS0 edd=off quiet panic=-1 klab.results=$RES"
[ -n "$SHELL_ON_FAIL" ] && APPEND="$APPEND klab.shell=1"
[ -n "$EXTRA_APPEND" ] && APPEND="$APPEND $EXTRA_APPEND"

QEMU=(qemu-system-x86_64 -accel tcg -m "$MEM" -smp 1 -nographic -no-reboot
	-virtfs "local,path=/,mount_tag=klabroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$RES,mount_tag=klabres,security_model=none,multidevs=remap")

if [ -n "$UEFI" ]; then
	CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
	VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
	[ -r "$CODE" ] && [ -r "$VARS" ] || die "OVMF firmware missing (package ovmf): run setup.sh"
	cp "$VARS" "$RES/OVMF_VARS.fd" || die "cannot copy OVMF vars"
	QEMU+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$CODE"
		-drive "if=pflash,format=raw,unit=1,file=$RES/OVMF_VARS.fd")
fi

if [ -n "$IPXE" ]; then
	[ -r "$IPXE" ] || die "iPXE script $IPXE not readable"
	TFTP="$RES/tftp"
	mkdir -p "$TFTP"
	cp "$KLAB_KERNEL" "$TFTP/vmlinuz" && cp "$KLAB_INITRD" "$TFTP/initrd.gz" || die "cannot stage TFTP files"
	IAPPEND="$APPEND"
	# Under UEFI iPXE starts the kernel's EFI stub, which finds the initrd
	# by name in iPXE's file system.
	[ -n "$UEFI" ] && IAPPEND="initrd=initrd.gz $IAPPEND"
	{
		echo '#!ipxe'
		grep -v '^#!ipxe' "$IPXE"
		echo "kernel tftp://10.0.2.2/vmlinuz $IAPPEND"
		echo "initrd tftp://10.0.2.2/initrd.gz"
		echo "boot"
		# This iPXE has no poweroff command; with -no-reboot this ends qemu.
		echo "echo kernel-lab: iPXE could not boot the lab kernel"
		echo "reboot"
	} >"$TFTP/boot.ipxe"
	QEMU+=(-netdev "user,id=n0,tftp=$TFTP,bootfile=boot.ipxe" -device e1000,netdev=n0
		-boot order=n -vga none)
else
	QEMU+=(-kernel "$KLAB_KERNEL" -initrd "$KLAB_INITRD" -append "$APPEND"
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0)
fi

# One qemu at a time on this 2-core host: wait for any other lab run.
exec 8>"$CACHE/.qemu.lock" || die "cannot open $CACHE/.qemu.lock"
if ! flock -n 8; then
	echo "$ME: another kernel lab run is active; waiting for it" >&2
	flock -w 900 8 || die "gave up waiting for the other kernel lab run"
fi

TAIL_PID=""
if [ -n "$VERBOSE" ]; then
	tail -n +1 -f "$LOGF" >&2 &
	TAIL_PID=$!
fi
T0=$(date +%s.%N)
timeout --foreground -s KILL "$TIMEOUT" "${QEMU[@]}" </dev/null >>"$LOGF" 2>&1
QRC=$?
T1=$(date +%s.%N)
if [ -n "$TAIL_PID" ]; then
	sleep 0.2
	kill "$TAIL_PID" 2>/dev/null
	wait "$TAIL_PID" 2>/dev/null
fi
flock -u 8

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
TOTAL=$(elapsed "$T0" "$T1")
BOOT="?"
[ -f "$RES/booted" ] && BOOT=$(elapsed "$T0" "$(stat -c %.3Y "$RES/booted")")
{
	echo "qemu_start $T0"
	echo "qemu_end $T1"
	echo "boot_seconds $BOOT"
	echo "total_seconds $TOTAL"
} >"$RES/host-timings"

[ -f "$RES/output.log" ] && cat "$RES/output.log"

show_tail() {
	echo "$ME: --- last console lines ($LOGF) ---" >&2
	tail -n 40 "$LOGF" >&2
	[ -f "$RES/init.log" ] && { echo "$ME: --- init.log ---" >&2; cat "$RES/init.log" >&2; }
	echo "$ME: --- end ---" >&2
}

if [ -f "$RES/exit-status" ]; then
	RC=$(cat "$RES/exit-status")
	case "$RC" in '' | *[!0-9]*) die "garbled exit status '$RC' in $RES/exit-status" ;; esac
	echo "$ME: command exited $RC (boot ${BOOT}s, total ${TOTAL}s; results in $RES)" >&2
	exit "$RC"
fi
if [ "$QRC" = 137 ] || [ "$QRC" = 124 ]; then
	show_tail
	echo "$ME: TIMEOUT after ${TIMEOUT}s: the guest did not finish (results in $RES)" >&2
	exit 124
fi
show_tail
if [ -f "$RES/lab-error" ]; then
	echo "$ME: LAB FAILURE: $(cat "$RES/lab-error")" >&2
elif grep -q 'Kernel panic' "$LOGF"; then
	echo "$ME: LAB FAILURE: kernel panic: $(grep -m1 -o 'Kernel panic.*' "$LOGF" | tr -d '\r')" >&2
elif [ ! -f "$RES/booted" ]; then
	echo "$ME: LAB FAILURE: the guest never mounted its shares (qemu exit $QRC; boot failure or kernel panic)" >&2
else
	echo "$ME: LAB FAILURE: the guest booted but wrote no exit status (qemu exit $QRC)" >&2
fi
exit 125
