#!/bin/bash
# Guest half of selftest.sh: runs inside the lab's chroot (the host root over
# 9p) with Debian's own iscsid and iscsiadm against the host's tgtd, reached
# as 10.0.2.2. Parameters come from $KLAB_RESULTS/selftest.env (mode 0600,
# written by selftest.sh) so the CHAP secrets are not on any command line.
#
# Steps: start iscsid; SendTargets discovery; create the node for the
# guest-visible portal; a login with a wrong CHAP secret must fail with
# ISCSI_ERR_LOGIN_AUTH_FAILED (24); mutual CHAP login; wait for the LUN's
# /dev/sdX in sysfs; write the pattern with dd and read it back; save
# `iscsiadm -m session -P 3`; logout; the session and disk must be gone.
set -euo pipefail

R=${KLAB_RESULTS:?not running in the kernel lab}
# shellcheck disable=SC1091
. "$R/selftest.env"
: "${PORT:?}" "${IQN:?}" "${CHAP_USER:?}" "${CHAP_PASS:?}" "${CHAP_TUSER:?}" "${CHAP_TPASS:?}" "${OFFSET_MIB:?}" "${PATTERN_MIB:?}"
PORTAL="10.0.2.2:$PORT"

step() { echo "guest-selftest: $*"; }
fail() { echo "guest-selftest: FAIL: $*" >&2; exit 1; }
now() { cut -d' ' -f1 /proc/uptime; }
T_START=$(now)

# --- iscsid ---------------------------------------------------------------
# In the foreground (-f) it logs to stderr, which goes to the results share.
# Its own session (setsid): on SIGTERM iscsid signals its whole process
# group, which would otherwise include this script.
setsid iscsid -f >"$R/iscsid.log" 2>&1 &
ISCSID=$!
stop_iscsid() {
	kill "$ISCSID" 2>/dev/null || true
	wait "$ISCSID" 2>/dev/null || true
}
trap stop_iscsid EXIT
for _ in $(seq 100); do
	grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix && break
	kill -0 "$ISCSID" 2>/dev/null || fail "iscsid exited; see iscsid.log"
	sleep 0.1
done
grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix || fail "iscsid never opened its IPC socket"
step "iscsid $(iscsid --version | awk '{print $NF}') running (pid $ISCSID)"

# --- udevd: /dev/disk/by-path links ------------------------------------------------
# The host's systemd-udevd runs in the chroot (its database lives in the
# tmpfs /run/udev); SYSTEMD_IGNORE_CHROOT=1 (set by init) keeps udevadm from
# turning into a no-op. It creates the by-path links issue 4's sessions()
# reports.
/lib/systemd/systemd-udevd --daemon --resolve-names=never 2>"$R/udevd.log" || fail "systemd-udevd did not start"
stop_all() {
	udevadm control --exit 2>/dev/null || true
	stop_iscsid
}
trap stop_all EXIT
udevadm trigger --action=add --subsystem-match=block >/dev/null 2>&1 || true

# --- discovery --------------------------------------------------------------
iscsiadm -m discovery -t st -p "$PORTAL" >"$R/discovery.txt" || fail "discovery against $PORTAL failed"
cat "$R/discovery.txt"
grep -q " $IQN\$" "$R/discovery.txt" || fail "discovery did not list $IQN"
# tgtd answers with the address it listens on (127.0.0.1), which inside the
# guest is the guest's own loopback: replace those records with one for the
# portal the guest really reaches.
while read -r portal target; do
	iscsiadm -m node -T "$target" -p "${portal%,*}" -o delete || fail "cannot delete node $target $portal"
done <"$R/discovery.txt"
iscsiadm -m node -T "$IQN" -p "$PORTAL,1" -o new >/dev/null || fail "cannot create node $IQN $PORTAL"

set_node() { iscsiadm -m node -T "$IQN" -p "$PORTAL" -o update -n "$1" -v "$2" || fail "cannot set $1"; }
set_node node.session.auth.authmethod CHAP
set_node node.session.auth.username "$CHAP_USER"
set_node node.session.auth.username_in "$CHAP_TUSER"
set_node node.session.auth.password_in "$CHAP_TPASS"

# --- a wrong secret must be refused -------------------------------------------
set_node node.session.auth.password "wrong-$CHAP_PASS"
rc=0
iscsiadm -m node -T "$IQN" -p "$PORTAL" --login >"$R/login-wrong.txt" 2>&1 || rc=$?
[ "$rc" = 24 ] || { cat "$R/login-wrong.txt"; fail "login with a wrong CHAP secret: want exit 24 (auth failed), got $rc"; }
step "wrong CHAP secret refused (iscsiadm exit 24)"

# --- mutual CHAP login --------------------------------------------------------
set_node node.session.auth.password "$CHAP_PASS"
T_LOGIN0=$(now)
iscsiadm -m node -T "$IQN" -p "$PORTAL" --login || fail "login failed"
T_LOGIN1=$(now)

# The LUN's disk: /sys/class/iscsi_session/sessionN/device/targetH:C:T/H:C:T:1/block/sdX
find_disk() {
	local d
	for d in /sys/class/iscsi_session/session*/device/target*/*:*:*:1/block/sd*; do
		[ -e "$d" ] && { basename "$d"; return 0; }
	done
	return 1
}
DISK=""
for _ in $(seq 200); do
	DISK=$(find_disk) && [ -b "/dev/$DISK" ] && break
	DISK=""
	sleep 0.05
done
[ -n "$DISK" ] || fail "no /dev/sdX for LUN 1 after login"
T_DISK=$(now)
SECTORS=$(cat "/sys/block/$DISK/size")
[ "$SECTORS" = $((32 * 2048)) ] || fail "/dev/$DISK has $SECTORS sectors, want 65536 (32 MiB)"
udevadm settle --timeout=30 || fail "udevadm settle timed out"
BYPATH="/dev/disk/by-path/ip-$PORTAL-iscsi-$IQN-lun-1"
[ -L "$BYPATH" ] || { ls -l /dev/disk/by-path/ >&2 || true; fail "udev made no $BYPATH"; }
[ "$(readlink -f "$BYPATH")" = "/dev/$DISK" ] || fail "$BYPATH does not point to /dev/$DISK"
step "logged in; LUN 1 is /dev/$DISK (32 MiB), $BYPATH"

# --- write the pattern, read it back -----------------------------------------------
dd if="$R/pattern.bin" of="/dev/$DISK" bs=1M seek="$OFFSET_MIB" count="$PATTERN_MIB" oflag=direct conv=fsync status=none ||
	fail "dd write failed"
dd if="/dev/$DISK" of="$TMPDIR/readback.bin" bs=1M skip="$OFFSET_MIB" count="$PATTERN_MIB" iflag=direct status=none ||
	fail "dd read failed"
cmp "$R/pattern.bin" "$TMPDIR/readback.bin" || fail "read-back differs from the pattern"
T_IO=$(now)
step "wrote and read back ${PATTERN_MIB} MiB at ${OFFSET_MIB} MiB"

iscsiadm -m session -P 3 >"$R/session-P3.txt" || fail "iscsiadm -m session -P 3 failed"
grep -q "Target: $IQN" "$R/session-P3.txt" || fail "session -P 3 does not show $IQN"
grep -q "Attached scsi disk $DISK" "$R/session-P3.txt" || fail "session -P 3 does not show $DISK"

# --- logout: session and disk must be gone -----------------------------------------
T_LOGOUT0=$(now)
iscsiadm -m node -T "$IQN" -p "$PORTAL" --logout || fail "logout failed"
T_LOGOUT1=$(now)
for _ in $(seq 100); do
	[ ! -e "/dev/$DISK" ] && ! ls /sys/class/iscsi_session/session* >/dev/null 2>&1 && break
	sleep 0.05
done
[ ! -e "/dev/$DISK" ] || fail "/dev/$DISK still present after logout"
! ls /sys/class/iscsi_session/session* >/dev/null 2>&1 || fail "a session is still present after logout"
step "logged out; session and /dev/$DISK gone"

calc() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
{
	echo "login_seconds $(calc "$T_LOGIN0" "$T_LOGIN1")"
	echo "login_to_disk_seconds $(calc "$T_LOGIN0" "$T_DISK")"
	echo "io_seconds $(calc "$T_DISK" "$T_IO")"
	echo "logout_seconds $(calc "$T_LOGOUT0" "$T_LOGOUT1")"
	echo "guest_test_seconds $(calc "$T_START" "$(now)")"
	echo "disk $DISK"
} >"$R/guest-timings"
cat "$R/guest-timings"
echo "guest-selftest: PASS"
