#!/bin/bash
# Guest half of capture-sysfs.sh: logs in to two targets of the host's tgtd
# (reached as 10.0.2.2) with Debian's iscsid/iscsiadm, lets udevd make the
# /dev/disk/by-path links, and saves the part of sysfs that lib/kernel/sysfs.ts
# reads as a plain tree (tar, so symlinks stay symlinks):
#
#   $KLAB_RESULTS/<name>.tar       sys/... (see guest-sysfs-copy.js)
#   $KLAB_RESULTS/<name>/iscsiadm-session-P3.txt, iscsiadm-session.txt,
#                        by-path.txt (`ls -l /dev/disk/by-path`),
#                        by-path.links ("name -> target" per link)
#
# Two captures: "logged-in" (both sessions LOGGED_IN, 3 disks) and "failed"
# (after `ip link set eth0 down`: the nop-out times out, the kernel marks the
# sessions FAILED while iscsid retries; disks stay until recovery_tmo).
# With SYSFS_JS (capture-sysfs.sh --check) the compiled lib/kernel/sysfs.ts is
# also run live: waitForSession() during the second login, and readSessions()
# compared with `iscsiadm -m session -P 3` in both states (guest-sysfs-check.js).
# Parameters come from $KLAB_RESULTS/capture.env (written by the host half).
set -euo pipefail

R=${KLAB_RESULTS:?not running in the kernel lab}
# shellcheck disable=SC1091
. "$R/capture.env"
: "${PORT:?}" "${IQN_A:?}" "${IQN_B:?}"
PORTAL="10.0.2.2:$PORT"

step() { echo "guest-capture: $*"; }
fail() { echo "guest-capture: FAIL: $*" >&2; exit 1; }

# --- iscsid (own session: it signals its whole process group on SIGTERM) -----
setsid iscsid -f >"$R/iscsid.log" 2>&1 &
ISCSID=$!
stop_all() {
	udevadm control --exit 2>/dev/null || true
	kill "$ISCSID" 2>/dev/null || true
	wait "$ISCSID" 2>/dev/null || true
}
trap stop_all EXIT
for _ in $(seq 100); do
	grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix && break
	kill -0 "$ISCSID" 2>/dev/null || fail "iscsid exited; see iscsid.log"
	sleep 0.1
done
grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix || fail "iscsid never opened its IPC socket"

/lib/systemd/systemd-udevd --daemon --resolve-names=never 2>"$R/udevd.log" || fail "systemd-udevd did not start"

# --- nodes and logins (no discovery: tgtd would answer with 127.0.0.1) ---------
for iqn in "$IQN_A" "$IQN_B"; do
	iscsiadm -m node -T "$iqn" -p "$PORTAL,1" -o new >/dev/null || fail "cannot create node $iqn"
done
iscsiadm -m node -T "$IQN_A" -p "$PORTAL" --login >/dev/null || fail "login to $IQN_A failed"
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -n "${SYSFS_JS:-}" ]; then
	# --check: our waitForSession() polls while iscsiadm logs in to B.
	SYSFS_JS=$SYSFS_JS node "$HERE/guest-sysfs-check.js" login-wait "$IQN_B" "$PORTAL" "$R/check-login-wait.json" ||
		fail "waitForSession during a real login failed"
else
	iscsiadm -m node -T "$IQN_B" -p "$PORTAL" --login >/dev/null || fail "login to $IQN_B failed"
fi

# 3 disks: target A LUN 1 + 2, target B LUN 1 (LUN 0 is tgtd's controller).
count_disks() {
	local n=0 d
	for d in /sys/class/iscsi_session/session*/device/target*/*:*:*:*/block/sd*; do
		[ -e "$d" ] && [ -b "/dev/$(basename "$d")" ] && n=$((n + 1))
	done
	echo "$n"
}
for _ in $(seq 300); do
	[ "$(count_disks)" = 3 ] && break
	sleep 0.05
done
[ "$(count_disks)" = 3 ] || fail "want 3 disks after login, have $(count_disks)"
udevadm settle --timeout=30 || fail "udevadm settle timed out"
step "logged in to $IQN_A and $IQN_B, 3 disks"

# --- the copy ----------------------------------------------------------------
# guest-sysfs-copy.js walks only what lib/kernel/sysfs.ts reads (see there).
capture() { # NAME
	local name=$1 out="$TMPDIR/cap-$1" link
	rm -rf "$out"
	mkdir -p "$out" "$R/$name"
	node "$HERE/guest-sysfs-copy.js" "$out" || fail "copying sysfs for $name failed"
	tar -C "$out" -cf "$R/$name.tar" sys || fail "tar of $name failed"
	iscsiadm -m session -P 3 >"$R/$name/iscsiadm-session-P3.txt" 2>&1 || true
	iscsiadm -m session >"$R/$name/iscsiadm-session.txt" 2>&1 || true
	ls -l /dev/disk/by-path >"$R/$name/by-path.txt" 2>&1 || true
	: >"$R/$name/by-path.links"
	for link in /dev/disk/by-path/*; do
		[ -L "$link" ] && echo "$(basename "$link") -> $(readlink "$link")" >>"$R/$name/by-path.links"
	done
	step "captured $name: $(tar -tf "$R/$name.tar" | wc -l) entries"
	if [ -n "${SYSFS_JS:-}" ]; then
		SYSFS_JS=$SYSFS_JS node "$HERE/guest-sysfs-check.js" compare "$R/$name/iscsiadm-session-P3.txt" "$R/check-$name.json" ||
			fail "readSessions() disagrees with iscsiadm ($name)"
	fi
}

capture logged-in

# --- a real FAILED session: take the link down, the nop-out times out -----------
ip link set eth0 down || fail "cannot take eth0 down"
all_failed() {
	local s
	for s in /sys/class/iscsi_session/session*; do
		[ "$(cat "$s/state")" = FAILED ] || return 1
	done
	return 0
}
for _ in $(seq 600); do
	all_failed && break
	sleep 0.1
done
all_failed || fail "sessions did not become FAILED within 60 s"
step "sessions FAILED after eth0 down"
capture failed
cat /proc/uptime >"$R/guest-done"
echo "guest-capture: PASS"
