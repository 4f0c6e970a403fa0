#!/bin/bash
# `npm run test:kernel`: the project's kernel test runner.
#
#   sudo npm run test:kernel           (= bash test/kernel-lab/test-kernel.sh)
#   test-kernel.sh [PHASE-GLOB]        e.g. 'phase-10-*' to run one phase
#
# 1. runs setup.sh (idempotent: packages, Debian kernel, initramfs);
# 2. checks every requirement and FAILS (exit 2, a message per problem) when
#    anything is missing -- it never skips: root, qemu/tgtd/iscsid/...,
#    Node with node:test and the flags the phases use, the compiled library
#    (dist/, not older than lib/) and the native addon (build/Release or
#    prebuilds/), enough free memory;
# 3. runs every test/kernel-lab/phase-*.sh in name order, each with its own
#    directory in $KLAB_PHASE_DIR, and prints a summary with each phase's
#    wall time. Exit status 1 when any phase failed.
#
# One qemu at a time (run.sh holds a host-wide lock), TCG only: the whole
# run is sized for ~10 minutes on a 2-core host. Each phase gets
# ${KLAB_PHASE_TIMEOUT:-600} seconds before it is stopped.
# Work directory: ${KLAB_TEST_DIR:-a new /tmp/klab-test-kernel.XXXXXX}; removed
# after a fully passing run unless KLAB_KEEP=1, kept (and named) otherwise.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ME="test:kernel"
PHASE_GLOB=${1:-phase-*.sh}
case "$PHASE_GLOB" in *.sh) ;; *) PHASE_GLOB="$PHASE_GLOB.sh" ;; esac

say() { echo "$ME: $*" >&2; }
T_START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- 1. root + setup ----------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	say "FAIL: must run as root (qemu's 9p export of the host root, tgtd, the lab cache)"
	exit 2
fi
T0=$(date +%s.%N)
if ! "$HERE/setup.sh"; then
	say "FAIL: test/kernel-lab/setup.sh failed (see above)"
	exit 2
fi
T_SETUP=$(elapsed "$T0" "$(date +%s.%N)")

# --- 2. requirements -----------------------------------------------------------------
problems=()
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || problems+=("command '$1' not found ($2)")
}
need_cmd qemu-system-x86_64 "package qemu-system-x86; setup.sh installs it"
need_cmd tgtd "package tgt"
need_cmd tgtadm "package tgt"
need_cmd iscsid "package open-iscsi"
need_cmd iscsiadm "package open-iscsi"
need_cmd unshare "package util-linux"
need_cmd python3 "package python3 (free port lookup)"
need_cmd node "Node.js >= 20"
need_cmd flock "package util-linux"
need_cmd timeout "package coreutils"

CACHE=${KLAB_CACHE:-/var/cache/iscsi-klab}
[ -r "$CACHE/lab.env" ] || problems+=("$CACHE/lab.env missing after setup.sh")

if command -v node >/dev/null 2>&1; then
	NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if [ "${NODE_MAJOR:-0}" -lt 20 ]; then
		problems+=("Node $(node --version 2>/dev/null) is too old: the guest tests use node:test and need Node >= 20")
	else
		# The exact flags the guest phases pass (--test-concurrency and
		# --test-timeout arrived in 20.10/20.11): prove them on a tiny file.
		probe=$(mktemp -d /tmp/klab-node-probe.XXXXXX)
		printf "require('node:test')('probe', () => { require('node:assert/strict').equal(1, 1); });\n" >"$probe/p.test.js"
		if ! (cd "$probe" && node --test --test-concurrency=1 --test-timeout=60000 \
			--test-reporter=spec --test-reporter-destination=stdout \
			--test-reporter=tap --test-reporter-destination="$probe/out.tap" p.test.js >"$probe/log" 2>&1) ||
			! grep -q '^ok 1 - probe' "$probe/out.tap"; then
			problems+=("node $(node --version) does not run 'node --test --test-concurrency=1 --test-timeout --test-reporter=spec/tap' (need Node >= 20.11): $(tr '\n' ' ' <"$probe/log" | cut -c1-300)")
		fi
		rm -rf "$probe"
	fi
fi

if [ ! -f "$ROOT/dist/index.js" ]; then
	problems+=("$ROOT/dist/index.js missing: run 'npm run build:ts' first")
else
	newer=$(find "$ROOT/lib" -name '*.ts' -newer "$ROOT/dist/index.js" -print -quit 2>/dev/null)
	[ -z "$newer" ] || problems+=("dist/ is older than lib/ ($newer changed since): run 'npm run build:ts' first")
fi
addon=""
for f in "$ROOT/build/Release/iscsi_initiator.node" "$ROOT"/prebuilds/linux-x64/*.node; do
	[ -f "$f" ] && { addon=$f; break; }
done
if [ -z "$addon" ]; then
	problems+=("native addon missing (build/Release/iscsi_initiator.node or prebuilds/linux-x64/*.node): run 'npm run build:native' (or npm ci)")
elif [ -f "$ROOT/dist/index.js" ] && command -v node >/dev/null 2>&1; then
	# The guest runs this host's node on this tree: if it cannot load here,
	# it cannot load there.
	if ! out=$(cd "$ROOT" && node -e 'const b = require("./dist/native.js").loadBinding(); if (typeof b.coreVersion !== "function") throw new Error("addon has no coreVersion()"); console.log(b.coreVersion())' 2>&1); then
		problems+=("the compiled library cannot load its native addon: $(echo "$out" | tail -n 3 | tr '\n' ' ')")
	fi
fi

avail_mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
[ "${avail_mib:-0}" -ge 1280 ] || problems+=("only ${avail_mib} MiB memory available; a guest needs 1024 MiB plus the host side")

shopt -s nullglob
PHASES=()
for p in "$HERE"/$PHASE_GLOB; do
	case "$(basename "$p")" in phase-*.sh) PHASES+=("$p") ;; esac
done
shopt -u nullglob
[ "${#PHASES[@]}" -gt 0 ] || problems+=("no test/kernel-lab/$PHASE_GLOB phase scripts")

if [ "${#problems[@]}" -gt 0 ]; then
	say "FAIL: the kernel test lab is not usable on this host:"
	for p in "${problems[@]}"; do echo "  - $p" >&2; done
	exit 2
fi
mapfile -t PHASES < <(printf '%s\n' "${PHASES[@]}" | LC_ALL=C sort)
say "setup ${T_SETUP}s; node $(node --version), addon $(basename "$addon"); ${#PHASES[@]} phase(s)"

# --- 3. phases ---------------------------------------------------------------------------
WORK=${KLAB_TEST_DIR:-}
if [ -z "$WORK" ]; then
	WORK=$(mktemp -d /tmp/klab-test-kernel.XXXXXX) || { say "FAIL: mktemp failed"; exit 2; }
else
	mkdir -p "$WORK" || { say "FAIL: cannot create $WORK"; exit 2; }
fi
PHASE_TIMEOUT=${KLAB_PHASE_TIMEOUT:-600}

NAMES=()
RESULTS=()
TIMES=()
VMS=()
FAILED=0
CHILD=""
on_signal() {
	# Stop the running phase (its own traps kill its tgtd by pid), then leave.
	if [ -n "$CHILD" ]; then
		kill -TERM "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	say "interrupted; work directory kept: $WORK"
	exit 130
}
trap on_signal INT TERM

for p in "${PHASES[@]}"; do
	name=$(basename "$p" .sh)
	pdir="$WORK/$name"
	mkdir -p "$pdir"
	echo "" >&2
	say "=== $name"
	t0=$(date +%s.%N)
	# timeout(1) puts the phase in its own process group, so a timeout stops
	# all of it (run.sh, qemu); the phase's own traps kill its tgtd by pid.
	# Output goes to $pdir/phase.log and is streamed from there.
	: >"$pdir/phase.log"
	KLAB_PHASE_DIR="$pdir" timeout -k 30 "$PHASE_TIMEOUT" bash "$p" </dev/null >"$pdir/phase.log" 2>&1 &
	CHILD=$!
	tail -n +1 -s 0.2 -f --pid="$CHILD" "$pdir/phase.log" >&2 &
	TAILPID=$!
	wait "$CHILD"
	rc=$?
	wait "$TAILPID" 2>/dev/null
	CHILD=""
	t=$(elapsed "$t0" "$(date +%s.%N)")
	NAMES+=("$name")
	TIMES+=("$t")
	# qemu time: run.sh writes host-timings into every results dir; the
	# difference to the wall time is mostly host setup and waiting for the
	# host-wide qemu lock (another lab run).
	VMS+=("$(find "$pdir" -name host-timings -exec awk '$1 == "total_seconds" { s += $2; n++ } END { printf "%.1f/%d", s, n }' {} + 2>/dev/null |
		awk -F/ '{ s += $1; n += $2 } END { printf "%.1f (%d boot%s)", s, n, n == 1 ? "" : "s" }')")
	if [ "$rc" = 0 ]; then
		RESULTS+=("PASS")
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		RESULTS+=("TIMEOUT (${PHASE_TIMEOUT}s)")
		FAILED=$((FAILED + 1))
	else
		RESULTS+=("FAIL (exit $rc)")
		FAILED=$((FAILED + 1))
	fi
	say "--- $name: ${RESULTS[-1]} in ${t}s"
done

TOTAL=$(elapsed "$T_START" "$(date +%s.%N)")
echo "" >&2
say "summary"
printf '  %-28s %-20s %8s  %s\n' "phase" "result" "wall s" "in qemu s" >&2
printf '  %-28s %-20s %8s\n' "setup.sh + checks" "ok" "$T_SETUP" >&2
for i in "${!NAMES[@]}"; do
	printf '  %-28s %-20s %8s  %s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}" "${VMS[$i]}" >&2
done
printf '  %-28s %-20s %8s\n' "total" "$([ "$FAILED" = 0 ] && echo PASS || echo "$FAILED FAILED")" "$TOTAL" >&2

if [ "$FAILED" != 0 ]; then
	say "FAIL: $FAILED of ${#NAMES[@]} phase(s) failed; logs and results kept in $WORK (<phase>/phase.log)"
	exit 1
fi
if [ "${KLAB_KEEP:-0}" = 1 ]; then
	say "PASS; work directory kept: $WORK"
else
	rm -rf "$WORK"
	say "PASS"
fi
exit 0
