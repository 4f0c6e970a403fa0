#!/bin/sh
# Runs a command against a private tgtd with the standard C integration
# fixture, e.g. (from ctest):  test/harness/with-tgtd.sh ./build/test_integration
#
#   iqn.2026-11.test.c:plain   64 MiB LUN 1, no authentication
#   iqn.2026-11.test.c:chap    64 MiB LUN 1, one-way CHAP cuser / csecret-12345
#   iqn.2026-11.test.c:mutual  64 MiB LUN 1, CHAP muser / msecret-12345,
#                              target answers as tuser / tsecret-12345
# Every target accepts HeaderDigest/DataDigest CRC32C or None.
#
# Exports ISC_TEST_PORT and ISC_TEST_PORTAL=127.0.0.1:PORT, runs "$@" and
# exits with its status. tgtd is killed with SIGKILL on exit (it ignores
# SIGTERM while it has targets). Works from any cwd: the command is run in
# the caller's directory; tgtd's files live in a private temp dir.
set -u

die() { echo "with-tgtd.sh: $*" >&2; exit 125; }
[ "$#" -ge 1 ] || die "usage: with-tgtd.sh command [args...]"
command -v tgtd >/dev/null 2>&1 || die "tgtd not found (apt-get install tgt)"
command -v tgtadm >/dev/null 2>&1 || die "tgtadm not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/with-tgtd.XXXXXX") || die "mktemp failed"
TGTD_PID=""
cleanup() {
	if [ -n "$TGTD_PID" ]; then
		kill -9 "$TGTD_PID" 2>/dev/null
		wait "$TGTD_PID" 2>/dev/null
	fi
	if [ -z "${ISC_KEEP_TGTD_DIR:-}" ]; then rm -rf "$WORK"; else echo "with-tgtd.sh: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	# Bind port 0 and report what the kernel chose. tgtd binds it a moment
	# later; the portal check below catches the rare race.
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
	else
		node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
	fi
}

start_tgtd() {
	# $1 = attempt number. Control socket /var/run/tgtd/socket.N must not be
	# in use by another tgtd, which then exits at once: retry with another N.
	# tgtd accepts control ports up to 32767.
	CONTROL=$(( 1000 + ($$ + $1 * 7919) % 31000 ))
	PORT=$(free_port) || return 1
	tgtd -f -C "$CONTROL" --iscsi "portal=127.0.0.1:$PORT" >>"$WORK/tgtd.log" 2>&1 &
	TGTD_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		if ! kill -0 "$TGTD_PID" 2>/dev/null; then TGTD_PID=""; return 1; fi
		if tgtadm -C "$CONTROL" --lld iscsi --op show --mode portal >"$WORK/portals" 2>/dev/null; then
			# tgtd falls back to 0.0.0.0:3260 when it could not bind ours.
			if grep -q "127.0.0.1:$PORT," "$WORK/portals"; then return 0; fi
			break
		fi
		sleep 0.05
		i=$((i + 1))
	done
	kill -9 "$TGTD_PID" 2>/dev/null
	wait "$TGTD_PID" 2>/dev/null
	TGTD_PID=""
	return 1
}

attempt=1
until start_tgtd $attempt; do
	attempt=$((attempt + 1))
	[ $attempt -le 8 ] || { cat "$WORK/tgtd.log" >&2; die "could not start tgtd"; }
done

T() { tgtadm -C "$CONTROL" --lld iscsi "$@" || die "tgtadm $* failed"; }

add_target() {
	# $1 tid, $2 name
	T --op new --mode target --tid "$1" -T "$2"
	: >"$WORK/t$1.img"
	truncate -s 64M "$WORK/t$1.img" || die "truncate failed"
	T --op new --mode logicalunit --tid "$1" --lun 1 -b "$WORK/t$1.img"
	# tgtd's default digest list is "None" only; allow CRC32C as well.
	T --op update --mode target --tid "$1" -n HeaderDigest -v CRC32C,None
	T --op update --mode target --tid "$1" -n DataDigest -v CRC32C,None
	T --op bind --mode target --tid "$1" -I ALL
	# tgtd answers HeaderDigest/DataDigest=None unless the target allows
	# CRC32C; allow both so digest tests and plain logins both work.
	T --op update --mode target --tid "$1" -n HeaderDigest -v CRC32C,None
	T --op update --mode target --tid "$1" -n DataDigest -v CRC32C,None
}

add_target 1 iqn.2026-11.test.c:plain
add_target 2 iqn.2026-11.test.c:chap
add_target 3 iqn.2026-11.test.c:mutual
T --op new --mode account --user cuser --password csecret-12345
T --op bind --mode account --tid 2 --user cuser
T --op new --mode account --user muser --password msecret-12345
T --op new --mode account --user tuser --password tsecret-12345
T --op bind --mode account --tid 3 --user muser
T --op bind --mode account --tid 3 --user tuser --outgoing

ISC_TEST_PORT=$PORT
ISC_TEST_PORTAL="127.0.0.1:$PORT"
export ISC_TEST_PORT ISC_TEST_PORTAL

"$@"
status=$?
exit $status
