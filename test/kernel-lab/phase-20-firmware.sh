#!/bin/bash
# Kernel-lab phase 20 (issue 5, the real-firmware proof): qemu's iPXE ROM
# sanhooks iSCSI targets on a private host tgtd, writes a real iBFT and boots
# the lab kernel; in the guest test/kernel/firmware-ipxe.test.js compares our
# firmware readers with open-iscsi's `iscsiadm -m fw` on the same table.
#
#   phase-20-firmware.sh [--keep] [--verbose] [--only bios|uefi]
#
# Boots (each ~15-25 s under TCG):
#   bios: SeaBIOS iPXE, two sanhooks in one boot:
#         drive 0x80 = the mutual-CHAP target (LUN 1),
#         drive 0x81 = the one-way-CHAP target (LUN 0x1f = 31);
#         the table sits in low memory (sysfs + a /dev/mem dump).
#   uefi: OVMF iPXE, one sanhook of the one-way-CHAP target; the table is
#         also /sys/firmware/acpi/tables/iBFT (raw-table source checked).
# Every value the guest needs (ports, IQNs, CHAP names and secrets) is in a
# 0600 env file in the results directory, never on a command line. The CHAP
# secrets here are test-only values of this throw-away lab.
#
# KLAB_FW_CAPTURE_DIR=DIR copies each run's capture (guest-ibft.sh) to
# DIR/<bios|uefi>/ (how test/fixtures/firmware/ipxe-* were made).
# Exits non-zero on any failure; never skips (a missing lab is a failure).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ME="kernel-lab phase-20-firmware"
KEEP=""
VERBOSE=()
ONLY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--keep) KEEP=1; shift ;;
	--verbose) VERBOSE=(--verbose); shift ;;
	--only) ONLY=${2:?}; shift 2 ;;
	*) echo "$ME: unknown option $1 (usage: phase-20-firmware.sh [--keep] [--verbose] [--only bios|uefi])" >&2; exit 2 ;;
	esac
done
case "$ONLY" in '' | bios | uefi) ;; *) echo "$ME: --only wants bios or uefi" >&2; exit 2 ;; esac

die() { echo "$ME: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
T_ALL0=$(now)

[ "$(id -u)" = 0 ] || die "must run as root (qemu 9p of /, tgtd)"
[ -f "$REPO/dist/index.js" ] || die "$REPO/dist/index.js missing: run 'npm run build:ts' first"
for f in dist/firmware/index.js test/kernel/firmware-ipxe.test.js test/kernel/firmware-iscsiadm-fw.js; do
	[ -f "$REPO/$f" ] || die "$REPO/$f missing"
done
command -v tgtd >/dev/null && command -v tgtadm >/dev/null || die "tgtd/tgtadm not installed (package tgt)"
"$HERE/setup.sh" >/dev/null || die "setup.sh failed"

# Directory: $KLAB_PHASE_DIR (set by test-kernel.sh, kept by it on failure)
# or a new /tmp dir (removed unless --keep).
# shellcheck source=lib-tgtd.sh
. "$HERE/lib-tgtd.sh"
if [ -n "${KLAB_PHASE_DIR:-}" ]; then
	WORK=$KLAB_PHASE_DIR
	mkdir -p "$WORK" || die "cannot create $WORK"
	KEEP=1
else
	WORK=$(mktemp -d /tmp/klab-fw.XXXXXX) || die "mktemp failed"
fi
cleanup() {
	klab_tgtd_stop
	if [ -z "$KEEP" ]; then rm -rf "$WORK"; else echo "$ME: results in $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

klab_tgtd_start "$WORK" || die "could not start tgtd (see $WORK/tgtd.log)"
PORT=$TGTD_PORT
tgtadm_() { klab_tgtadm "$@" || die "tgtadm $(printf '%s ' "$@" | sed 's/--password [^ ]*/--password ***/')"; }

# Test-only lab credentials. Distinct names and secrets per target so a
# mix-up between targets cannot pass.
INI_IQN=iqn.2026-11.test.klab:fw-initiator
MUT_IQN=iqn.2026-11.test.klab:fw-mutual
MUT_LUN=1
MUT_USER=klab-fw-mutual-ini
MUT_PASS=klab-fw-mutual-s3cret
MUT_TUSER=klab-fw-mutual-tgt
MUT_TPASS=klab-fw-mutual-tgt-s3cret
ONE_IQN=iqn.2026-11.test.klab:fw-oneway
ONE_LUN=31
ONE_USER=klab-fw-oneway-ini
ONE_PASS=klab-fw-oneway-s3cret

truncate -s 8M "$WORK/mutual.img" "$WORK/oneway.img" || die "cannot create backing files"
tgtadm_ --op new --mode target --tid 1 -T "$MUT_IQN"
tgtadm_ --op new --mode logicalunit --tid 1 --lun "$MUT_LUN" -b "$WORK/mutual.img"
tgtadm_ --op bind --mode target --tid 1 -I ALL
tgtadm_ --op new --mode target --tid 2 -T "$ONE_IQN"
tgtadm_ --op new --mode logicalunit --tid 2 --lun "$ONE_LUN" -b "$WORK/oneway.img"
tgtadm_ --op bind --mode target --tid 2 -I ALL
tgtadm_ --op new --mode account --user "$MUT_USER" --password "$MUT_PASS"
tgtadm_ --op new --mode account --user "$MUT_TUSER" --password "$MUT_TPASS"
tgtadm_ --op new --mode account --user "$ONE_USER" --password "$ONE_PASS"
tgtadm_ --op bind --mode account --tid 1 --user "$MUT_USER"
tgtadm_ --op bind --mode account --tid 1 --user "$MUT_TUSER" --outgoing
tgtadm_ --op bind --mode account --tid 2 --user "$ONE_USER"
echo "$ME: tgtd pid $TGTD_PID on 127.0.0.1:$PORT (guest: 10.0.2.2:$PORT): $MUT_IQN (mutual CHAP, LUN $MUT_LUN), $ONE_IQN (one-way CHAP, LUN $ONE_LUN)"

# --- one iPXE boot ---------------------------------------------------------------
# $1 = bios|uefi. The iPXE script and the env file are written 0600 into the
# results dir; iPXE reads CHAP settings at each sanhook (ipxe.org/cfg), so
# the second target gets its own credentials and no reverse CHAP.
boot_one() {
	local mode=$1 res="$WORK/$1" t0 t1 rc uefi=()
	mkdir -p "$res" && chmod 700 "$res"
	local targets
	(
		umask 077
		{
			echo "set initiator-iqn $INI_IQN"
			if [ "$mode" = bios ]; then
				echo "set username $MUT_USER"
				echo "set password $MUT_PASS"
				echo "set reverse-username $MUT_TUSER"
				echo "set reverse-password $MUT_TPASS"
				echo "sanhook --drive 0x80 iscsi:10.0.2.2::$PORT:$(printf '%x' "$MUT_LUN"):$MUT_IQN || goto failed"
				echo "clear reverse-username"
				echo "clear reverse-password"
			fi
			echo "set username $ONE_USER"
			echo "set password $ONE_PASS"
			# BIOS: the second SAN drive needs its own number (else EADDRINUSE).
			drive=""
			[ "$mode" = bios ] && drive="--drive 0x81 "
			echo "sanhook ${drive}iscsi:10.0.2.2::$PORT:$(printf '%x' "$ONE_LUN"):$ONE_IQN || goto failed"
			echo "goto hooked"
			echo ":failed"
			echo "echo kernel-lab: sanhook failed"
			echo "reboot"
			echo ":hooked"
		} >"$res/sanhook.ipxe"
		{
			echo "FW_MODE=$mode"
			echo "FW_PORT=$PORT"
			echo "FW_INITIATOR=$INI_IQN"
			echo "FW_MUT_IQN=$MUT_IQN"
			echo "FW_MUT_LUN=$MUT_LUN"
			echo "FW_MUT_USER=$MUT_USER"
			echo "FW_MUT_PASS=$MUT_PASS"
			echo "FW_MUT_TUSER=$MUT_TUSER"
			echo "FW_MUT_TPASS=$MUT_TPASS"
			echo "FW_ONE_IQN=$ONE_IQN"
			echo "FW_ONE_LUN=$ONE_LUN"
			echo "FW_ONE_USER=$ONE_USER"
			echo "FW_ONE_PASS=$ONE_PASS"
			if [ "$mode" = bios ]; then echo "FW_TARGETS=mutual,oneway"; else echo "FW_TARGETS=oneway"; fi
		} >"$res/firmware.env"
	) || die "cannot write $res/sanhook.ipxe / firmware.env"
	[ "$mode" = uefi ] && uefi=(--uefi)
	t0=$(now)
	# guest-ibft.sh saves the sysfs tree, the raw table and iscsiadm -m fw
	# into $KLAB_RESULTS/capture (secrets redacted on its console output);
	# then the node:test file does the comparisons.
	"$HERE/run.sh" --timeout 200 --results "$res" --ipxe "$res/sanhook.ipxe" "${uefi[@]}" "${VERBOSE[@]}" -- \
		bash -c 'bash test/kernel-lab/guest-ibft.sh >"$KLAB_RESULTS/guest-ibft.log" 2>&1 || { cat "$KLAB_RESULTS/guest-ibft.log"; exit 1; }
			KLAB_TEST_ENV="$KLAB_RESULTS/firmware.env" exec node --test --test-concurrency=1 --test-timeout=180000 \
				--test-reporter=spec --test-reporter-destination=stdout \
				--test-reporter=tap --test-reporter-destination="$KLAB_RESULTS/firmware-ipxe.tap" \
				test/kernel/firmware-ipxe.test.js' \
		>"$res/guest-output.log" 2>&1
	rc=$?
	t1=$(now)
	# The guest output never holds secrets (the test compares them
	# in-process); check that anyway before showing it.
	local leak=""
	for s in "$MUT_PASS" "$MUT_TPASS" "$ONE_PASS"; do
		grep -qF -- "$s" "$res/guest-output.log" "$res/console.log" 2>/dev/null && leak=1
	done
	if [ -n "$leak" ]; then
		echo "$ME: $mode: a CHAP secret appeared in the guest output or console (not shown)" >&2
		rc=1
	else
		sed "s/^/[$mode] /" "$res/guest-output.log"
	fi
	local boot qemu
	boot=$(awk '$1 == "boot_seconds" { print $2 }' "$res/host-timings" 2>/dev/null)
	# qemu's own run time; the wall time also holds any wait for another
	# lab run (run.sh serializes qemu on this host).
	qemu=$(awk '$1 == "total_seconds" { print $2 }' "$res/host-timings" 2>/dev/null)
	eval "T_${mode}=\${qemu:-?}"
	eval "B_${mode}=\${boot:-?}"
	if [ -n "${KLAB_FW_CAPTURE_DIR:-}" ] && [ -d "$res/capture" ]; then
		mkdir -p "$KLAB_FW_CAPTURE_DIR/$mode" && cp -a "$res/capture/." "$res/sanhook.ipxe" "$KLAB_FW_CAPTURE_DIR/$mode/" ||
			die "cannot copy captures to $KLAB_FW_CAPTURE_DIR/$mode"
	fi
	if [ "$rc" != 0 ]; then
		# Keep going: the other boot's result is worth having; fail at the end.
		echo "$ME: $mode: FAIL: iPXE run failed with status $rc (console: $res/console.log, results: $res)" >&2
		FAILED="$FAILED $mode"
		KEEP=1
		return 0
	fi
	grep -q '# lib.login is not exported yet' "$res/guest-output.log" &&
		echo "$ME: $mode: NOTE: the firmware-node login() test did not run: lib.login is not exported yet"
	echo "$ME: $mode: PASS (iPXE + boot to shares mounted ${boot:-?}s, qemu ${qemu:-?}s, wall $(elapsed "$t0" "$t1")s incl. waiting for the lab lock)"
}

cd "$REPO" || die "cannot cd to $REPO"
T_bios="-"; T_uefi="-"; B_bios="-"; B_uefi="-"
FAILED=""
[ "$ONLY" = uefi ] || boot_one bios
[ "$ONLY" = bios ] || boot_one uefi

T_ALL1=$(now)
TIMES="bios qemu ${T_bios}s (boot ${B_bios}s), uefi qemu ${T_uefi}s (boot ${B_uefi}s), phase wall total $(elapsed "$T_ALL0" "$T_ALL1")s"
[ -z "$FAILED" ] || die "failed:$FAILED ($TIMES)"
echo "$ME: PASS"
echo "$ME: $TIMES"
