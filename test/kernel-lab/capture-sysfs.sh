#!/bin/bash
# Captures real kernel iSCSI sysfs trees for lib/kernel/sysfs.ts's tests
# (test/fixtures/sysfs-iscsi/):
#   host:  a private tgtd on 127.0.0.1:PORT (guest: 10.0.2.2:PORT) with
#          target A (LUN 1 = 16 MiB, LUN 2 = 8 MiB) and target B (LUN 1 =
#          4 MiB), no CHAP;
#   guest: Debian's iscsid + iscsiadm + systemd-udevd log in to both and
#          save the sysfs subset the reader walks, `iscsiadm -m session -P 3`
#          and the by-path links, once logged in and once with the sessions
#          FAILED (guest-capture-sysfs.sh);
#   host:  unpacks each capture into OUT/<name>/ (sys/..., the text files).
#
#   capture-sysfs.sh [--out DIR] [--keep] [--verbose] [--check]
#
# --check also compiles lib/kernel/sysfs.ts (tsc, into the results dir) and
# runs it live in the guest: waitForSession() while iscsiadm logs in, and
# readSessions() == `iscsiadm -m session -P 3` in both states
# (guest-sysfs-check.js); the JSON it saw is kept as check-*.json in OUT.
#
# OUT defaults to a new /tmp/klab-sysfs.XXXXXX (printed). Never skips:
# anything missing is a failure. tgtd is killed by PID with SIGKILL on exit
# (it ignores SIGTERM while it has targets).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ME="kernel-lab capture-sysfs"
KEEP=""
VERBOSE=()
OUT=""
CHECK=""
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--verbose) VERBOSE=(--verbose); shift ;;
	--check) CHECK=1; shift ;;
	*) echo "$ME: unknown option $1 (usage: capture-sysfs.sh [--out DIR] [--keep] [--verbose] [--check])" >&2; exit 2 ;;
	esac
done

die() { echo "$ME: FAIL: $*" >&2; exit 1; }

"$HERE/setup.sh" >/dev/null || die "setup.sh failed"

WORK=$(mktemp -d /tmp/klab-capture.XXXXXX) || die "mktemp failed"
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/klab-sysfs.XXXXXX) || die "mktemp failed"
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

IQN_A=iqn.2026-11.test.klab:sysfs-a
IQN_B=iqn.2026-11.test.klab:sysfs-b
truncate -s 16M "$WORK/a1.img" && truncate -s 8M "$WORK/a2.img" && truncate -s 4M "$WORK/b1.img" ||
	die "cannot create backing files"
tgtadm_ --op new --mode target --tid 1 -T "$IQN_A"
tgtadm_ --op new --mode logicalunit --tid 1 --lun 1 -b "$WORK/a1.img"
tgtadm_ --op new --mode logicalunit --tid 1 --lun 2 -b "$WORK/a2.img"
tgtadm_ --op bind --mode target --tid 1 -I ALL
tgtadm_ --op new --mode target --tid 2 -T "$IQN_B"
tgtadm_ --op new --mode logicalunit --tid 2 --lun 1 -b "$WORK/b1.img"
tgtadm_ --op bind --mode target --tid 2 -I ALL
echo "$ME: tgtd pid $TGTD_PID on 127.0.0.1:$PORT (guest: 10.0.2.2:$PORT), targets $IQN_A, $IQN_B"

RES="$WORK/results"
mkdir -p "$RES"
printf 'PORT=%s\nIQN_A=%s\nIQN_B=%s\n' "$PORT" "$IQN_A" "$IQN_B" >"$RES/capture.env"
if [ -n "$CHECK" ]; then
	# Only the reader and what it imports (type-only imports are elided).
	(cd "$HERE/../.." && npx --no-install tsc --outDir "$RES/dist" --rootDir lib --module commonjs --target ES2022 \
		--strict --esModuleInterop --skipLibCheck --types node lib/kernel/sysfs.ts) >"$WORK/tsc.log" 2>&1 ||
		die "tsc failed: $(cat "$WORK/tsc.log")"
	echo "SYSFS_JS=$RES/dist/kernel/sysfs.js" >>"$RES/capture.env"
fi
"$HERE/run.sh" --timeout 240 --results "$RES" "${VERBOSE[@]}" -- bash "$HERE/guest-capture-sysfs.sh"
RC=$?
[ "$RC" = 0 ] || die "guest part failed with status $RC (console: $RES/console.log, iscsid: $RES/iscsid.log)"

for name in logged-in failed; do
	[ -s "$RES/$name.tar" ] || die "no $name.tar from the guest"
	rm -rf "${OUT:?}/$name"
	mkdir -p "$OUT/$name"
	tar -C "$OUT/$name" -xf "$RES/$name.tar" || die "cannot unpack $name.tar"
	cp "$RES/$name/"* "$OUT/$name/" || die "cannot copy the $name text files"
	echo "$PORT" >"$OUT/$name/port"
	if [ -n "$CHECK" ]; then
		cp "$RES/check-$name.json" "$OUT/$name/" || die "no check-$name.json from the guest"
	fi
done
[ -z "$CHECK" ] || cp "$RES/check-login-wait.json" "$OUT/" || die "no check-login-wait.json from the guest"
echo "$ME: PASS: captures in $OUT ($(find "$OUT" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }') bytes in files, $(find "$OUT" | wc -l) entries)"
