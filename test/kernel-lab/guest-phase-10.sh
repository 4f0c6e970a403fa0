#!/bin/bash
# Guest half of phase-10-sessions.sh (runs in the kernel lab's chroot).
#
# Starts udevd (for /dev/disk/by-path links) and iscsid (setsid: on SIGTERM
# iscsid signals its whole process group), then runs every
# test/kernel/*.test.js (except TOPIC-*.test.js owned by another
# phase-NN-TOPIC.sh) with Node's built-in runner in this one boot:
#   node --test --test-reporter=spec --test-concurrency=1 FILES...
# Test parameters (CHAP secrets among them) stay in the 0600 file named by
# KLAB_TEST_ENV; the spec report goes to stdout, a TAP copy to
# $KLAB_RESULTS/tests.tap; iscsid's log to $KLAB_RESULTS/iscsid.log and the
# kernel log to $KLAB_RESULTS/dmesg.log.
set -uo pipefail

R=${KLAB_RESULTS:?not running in the kernel lab}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ME="guest-phase-10"
fail() { echo "$ME: FAIL: $*" >&2; exit 1; }
[ -r "$R/kernel-tests.env" ] || fail "$R/kernel-tests.env missing"
now() { cut -d' ' -f1 /proc/uptime; }
T0=$(now)

ISCSID=""
stop_all() {
	udevadm control --exit 2>/dev/null || true
	if [ -n "$ISCSID" ]; then
		kill "$ISCSID" 2>/dev/null || true
		wait "$ISCSID" 2>/dev/null || true
	fi
	dmesg >"$R/dmesg.log" 2>&1 || true
}
trap stop_all EXIT

# --- udevd --------------------------------------------------------------------------
/lib/systemd/systemd-udevd --daemon --resolve-names=never 2>"$R/udevd.log" || fail "systemd-udevd did not start"
udevadm trigger --action=add --subsystem-match=block >/dev/null 2>&1 || true

# --- iscsid -------------------------------------------------------------------------
setsid iscsid -f >"$R/iscsid.log" 2>&1 &
ISCSID=$!
for _ in $(seq 100); do
	grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix && break
	kill -0 "$ISCSID" 2>/dev/null || fail "iscsid exited (see iscsid.log)"
	sleep 0.1
done
grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix || fail "iscsid never opened its IPC socket"
echo "$ME: iscsid $(iscsid --version | awk '{print $NF}') running (pid $ISCSID), udevd running; guest ready after $(now)s uptime"

# --- the tests ----------------------------------------------------------------------
cd "$ROOT" || fail "cannot cd $ROOT"
shopt -s nullglob
# Files owned by another phase are left to it: phase-NN-TOPIC.sh owns
# test/kernel/TOPIC-*.test.js (e.g. phase-20-firmware.sh boots through iPXE
# for firmware-*.test.js). Everything else runs here, in this one boot.
OWNED=""
for p in "$HERE"/phase-*.sh; do
	topic=$(basename "$p" .sh)
	topic=${topic#phase-*-}
	[ "$(basename "$p")" = "phase-10-sessions.sh" ] && continue
	OWNED="$OWNED $topic"
done
FILES=()
for f in test/kernel/*.test.js; do
	name=$(basename "$f")
	mine=1
	for topic in $OWNED; do
		case "$name" in "$topic"-*) mine=""; echo "$ME: leaving $f to phase-*-$topic.sh" ;; esac
	done
	[ -n "$mine" ] && FILES+=("$f")
done
[ "${#FILES[@]}" -gt 0 ] || fail "no test/kernel/*.test.js files for this phase"
echo "$ME: running ${FILES[*]}"
T1=$(now)
KLAB_TEST_ENV="$R/kernel-tests.env" node --test --test-concurrency=1 --test-timeout=180000 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=tap --test-reporter-destination="$R/tests.tap" \
	"${FILES[@]}"
RC=$?
T2=$(now)
calc() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "$ME: node --test exited $RC (setup $(calc "$T0" "$T1")s, tests $(calc "$T1" "$T2")s)"
exit "$RC"
