#!/bin/bash
# Proves the kernel lab works with Debian's own tools, end to end:
#   host: a private tgtd on 127.0.0.1:PORT (the guest reaches it as
#         10.0.2.2:PORT), one target with a 32 MiB LUN and mutual CHAP;
#   guest: Debian's iscsid + iscsiadm (guest-selftest.sh): discovery, a
#         refused wrong secret, mutual-CHAP login, /dev/sdX, dd write +
#         read-back, `iscsiadm -m session -P 3`, logout;
#   host: the pattern must be in tgtd's backing file at the same offset.
# Then, unless KLAB_SKIP_IPXE=1, the firmware path: qemu's iPXE ROM sanhooks
# the same target (CHAP set in iPXE), boots the lab kernel, and the guest
# saves /sys/firmware/ibft and the kernel log into the results
# (guest-ibft.sh).
#
#   selftest.sh [--keep] [--verbose] [--uefi]
#
# --keep keeps the work directory (tgtd log, results, iBFT captures);
# --uefi boots the iPXE run with OVMF instead of SeaBIOS;
# KLAB_CAPTURE_DIR=DIR copies the iBFT captures there (captures/ was made so).
#
# Prints boot, login and total times. Never skips: anything missing is a
# failure (non-zero exit). tgtd is killed by PID with SIGKILL on exit (it
# ignores SIGTERM while it has targets).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ME="kernel-lab selftest"
KEEP=""
VERBOSE=()
UEFI=()
for a in "$@"; do
	case "$a" in
	--keep) KEEP=1 ;;
	--verbose) VERBOSE=(--verbose) ;;
	--uefi) UEFI=(--uefi) ;;
	*) echo "$ME: unknown option $a (usage: selftest.sh [--keep] [--verbose] [--uefi])" >&2; exit 2 ;;
	esac
done

die() { echo "$ME: FAIL: $*" >&2; exit 1; }
T_ALL0=$(date +%s.%N)

"$HERE/setup.sh" || die "setup.sh failed"

WORK=$(mktemp -d /tmp/klab-selftest.XXXXXX) || die "mktemp failed"
# A private tgtd (lib-tgtd.sh: control port, portal check, SIGKILL by pid).
# shellcheck source=lib-tgtd.sh
. "$HERE/lib-tgtd.sh"
cleanup() {
	klab_tgtd_stop
	if [ -z "$KEEP" ]; then rm -rf "$WORK"; else echo "$ME: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

klab_tgtd_start "$WORK" || die "could not start tgtd (see $WORK/tgtd.log)"
PORT=$TGTD_PORT
tgtadm_() { klab_tgtadm "$@" || die "tgtadm $*"; }

IQN=iqn.2026-11.test.klab:selftest
CHAP_USER=klab-initiator
CHAP_PASS=klab-ini-secret-1
CHAP_TUSER=klab-target
CHAP_TPASS=klab-tgt-secret-2
BACKING="$WORK/lun1.img"
truncate -s 32M "$BACKING" || die "cannot create $BACKING"
tgtadm_ --op new --mode target --tid 1 -T "$IQN"
tgtadm_ --op new --mode logicalunit --tid 1 --lun 1 -b "$BACKING"
tgtadm_ --op bind --mode target --tid 1 -I ALL
tgtadm_ --op new --mode account --user "$CHAP_USER" --password "$CHAP_PASS"
tgtadm_ --op new --mode account --user "$CHAP_TUSER" --password "$CHAP_TPASS"
tgtadm_ --op bind --mode account --tid 1 --user "$CHAP_USER"
tgtadm_ --op bind --mode account --tid 1 --user "$CHAP_TUSER" --outgoing
echo "$ME: tgtd pid $TGTD_PID on 127.0.0.1:$PORT (guest: 10.0.2.2:$PORT), target $IQN"

# --- the guest run ------------------------------------------------------------------
RES="$WORK/results"
mkdir -p "$RES"
OFFSET_MIB=3
PATTERN_MIB=4
head -c $((PATTERN_MIB * 1024 * 1024)) /dev/urandom >"$RES/pattern.bin" || die "cannot make the pattern"
(
	umask 077
	cat >"$RES/selftest.env" <<EOF
PORT=$PORT
IQN=$IQN
CHAP_USER=$CHAP_USER
CHAP_PASS=$CHAP_PASS
CHAP_TUSER=$CHAP_TUSER
CHAP_TPASS=$CHAP_TPASS
OFFSET_MIB=$OFFSET_MIB
PATTERN_MIB=$PATTERN_MIB
EOF
)
"$HERE/run.sh" --timeout 240 --results "$RES" "${VERBOSE[@]}" -- bash "$HERE/guest-selftest.sh"
RC=$?
[ "$RC" = 0 ] || die "guest part failed with status $RC (console: $RES/console.log, iscsid: $RES/iscsid.log)"

# --- host: the pattern must be in tgtd's backing file ------------------------------------
cmp -n $((PATTERN_MIB * 1024 * 1024)) "$RES/pattern.bin" "$BACKING" --ignore-initial=0:$((OFFSET_MIB * 1024 * 1024)) ||
	die "the backing file does not hold the pattern the guest wrote"
echo "$ME: backing file holds the ${PATTERN_MIB} MiB pattern at ${OFFSET_MIB} MiB"

get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
BOOT=$(get boot_seconds "$RES/host-timings")
VM_TOTAL=$(get total_seconds "$RES/host-timings")
LOGIN=$(get login_seconds "$RES/guest-timings")
LOGIN_DISK=$(get login_to_disk_seconds "$RES/guest-timings")

# --- the firmware path: iPXE sanhook -> iBFT ------------------------------------------------
IBFT_LINE="iPXE/iBFT: not run (KLAB_SKIP_IPXE=1)"
if [ "${KLAB_SKIP_IPXE:-0}" != 1 ]; then
	IRES="$WORK/ibft"
	mkdir -p "$IRES"
	# iPXE's iscsi: URI is iscsi:<server>:<protocol>:<port>:<lun>:<iqn>
	# (empty protocol = 6, TCP; the LUN is hex). CHAP comes from the
	# username/password (and reverse-*) settings.
	cat >"$IRES/sanhook.ipxe" <<EOF
set initiator-iqn iqn.2026-11.test.klab:ipxe-initiator
set username $CHAP_USER
set password $CHAP_PASS
set reverse-username $CHAP_TUSER
set reverse-password $CHAP_TPASS
sanhook iscsi:10.0.2.2::$PORT:1:$IQN || goto failed
goto hooked
:failed
echo kernel-lab: sanhook failed
reboot
:hooked
EOF
	"$HERE/run.sh" --timeout 240 --results "$IRES" --ipxe "$IRES/sanhook.ipxe" "${UEFI[@]}" "${VERBOSE[@]}" \
		-- bash "$HERE/guest-ibft.sh"
	IRC=$?
	[ "$IRC" = 0 ] || die "iPXE/iBFT run failed with status $IRC (console: $IRES/console.log)"
	IBOOT=$(get boot_seconds "$IRES/host-timings")
	IBFT_LINE="iPXE/iBFT: iBFT read from /sys/firmware/ibft, boot ${IBOOT}s"
	[ -n "$KEEP" ] && IBFT_LINE="$IBFT_LINE; captures in $IRES/capture"
	if [ -n "${KLAB_CAPTURE_DIR:-}" ]; then
		mkdir -p "$KLAB_CAPTURE_DIR" && cp -a "$IRES/capture/." "$KLAB_CAPTURE_DIR/" ||
			die "cannot copy captures to $KLAB_CAPTURE_DIR"
		IBFT_LINE="$IBFT_LINE (copied to $KLAB_CAPTURE_DIR)"
	fi
fi

T_ALL1=$(date +%s.%N)
TOTAL=$(awk -v a="$T_ALL0" -v b="$T_ALL1" 'BEGIN { printf "%.1f", b - a }')
echo "$ME: PASS"
echo "$ME: boot ${BOOT}s (qemu start -> shares mounted), login ${LOGIN}s (iscsiadm --login), login -> /dev/sdX ${LOGIN_DISK}s, kernel-session VM ${VM_TOTAL}s"
echo "$ME: $IBFT_LINE"
echo "$ME: total ${TOTAL}s"
