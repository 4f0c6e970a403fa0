#!/bin/bash
# Phase 10 of `npm run test:kernel`: kernel iSCSI sessions (issue 4).
#
# Host: a private tgtd on 127.0.0.1:PORT with two targets, LUN 1 each on a
# sparse 32 MiB file in this phase's directory (the guest sees the host root
# read-only over 9p, so tests can compare what they wrote through /dev/sdX
# with the backing file directly):
#   $IQN_NOAUTH  no authentication
#   $IQN_CHAP    mutual CHAP (incoming + outgoing account)
# The parameters go to the guest in a 0600 env file ($RES/kernel-tests.env,
# read by test/kernel/lab-env.js), never on a command line.
# Guest (guest-phase-10.sh): udevd + iscsid, then `node --test` over every
# test/kernel/*.test.js in one boot.
#
# Directory: $KLAB_PHASE_DIR (set by test-kernel.sh) or a new /tmp dir.
# Exit status: the guest's (node --test), or non-zero for any lab failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ME="phase-10-sessions"
die() { echo "$ME: FAIL: $*" >&2; exit 1; }
# shellcheck source=lib-tgtd.sh
. "$HERE/lib-tgtd.sh"

PDIR=${KLAB_PHASE_DIR:-}
if [ -z "$PDIR" ]; then
	PDIR=$(mktemp -d /tmp/klab-phase10.XXXXXX) || die "mktemp failed"
fi
mkdir -p "$PDIR" || die "cannot create $PDIR"
PDIR=$(cd "$PDIR" && pwd -P)
RES="$PDIR/results"
mkdir -p "$RES" || die "cannot create $RES"

cleanup() { klab_tgtd_stop; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- host: tgtd -------------------------------------------------------------------
klab_tgtd_start "$PDIR" || die "could not start tgtd (log: $PDIR/tgtd.log)"
echo "$ME: tgtd pid $TGTD_PID on 127.0.0.1:$TGTD_PORT (guest: 10.0.2.2:$TGTD_PORT)"

IQN_NOAUTH=iqn.2026-11.test.klab:sessions-noauth
IQN_CHAP=iqn.2026-11.test.klab:sessions-chap
LUN_MIB=32
# Fresh secrets per run (printable, 16 chars: within what tgt and iscsid accept).
rand() { head -c 12 /dev/urandom | base64 | tr '+/' 'xy'; }
CHAP_USER=klab-sess-initiator
CHAP_PASS=$(rand)
CHAP_TUSER=klab-sess-target
CHAP_TPASS=$(rand)
BACK_NOAUTH="$PDIR/noauth-lun1.img"
BACK_CHAP="$PDIR/chap-lun1.img"
truncate -s "${LUN_MIB}M" "$BACK_NOAUTH" "$BACK_CHAP" || die "cannot create backing files"
# The guest (uid 0 in the guest, but 9p passthrough reads as the qemu user:
# root here) only reads them; tgtd writes them.

klab_tgtadm --op new --mode target --tid 1 -T "$IQN_NOAUTH" || die "tgtadm: new target $IQN_NOAUTH"
klab_tgtadm --op new --mode logicalunit --tid 1 --lun 1 -b "$BACK_NOAUTH" || die "tgtadm: LUN 1 of tid 1"
klab_tgtadm --op bind --mode target --tid 1 -I ALL || die "tgtadm: bind tid 1"
klab_tgtadm --op new --mode target --tid 2 -T "$IQN_CHAP" || die "tgtadm: new target $IQN_CHAP"
klab_tgtadm --op new --mode logicalunit --tid 2 --lun 1 -b "$BACK_CHAP" || die "tgtadm: LUN 1 of tid 2"
klab_tgtadm --op bind --mode target --tid 2 -I ALL || die "tgtadm: bind tid 2"
# tgtadm takes account secrets as arguments: host-side only, on this host's
# own process table for a few milliseconds; the guest never sees them on a
# command line.
klab_tgtadm --op new --mode account --user "$CHAP_USER" --password "$CHAP_PASS" || die "tgtadm: account"
klab_tgtadm --op new --mode account --user "$CHAP_TUSER" --password "$CHAP_TPASS" || die "tgtadm: account"
klab_tgtadm --op bind --mode account --tid 2 --user "$CHAP_USER" || die "tgtadm: bind account"
klab_tgtadm --op bind --mode account --tid 2 --user "$CHAP_TUSER" --outgoing || die "tgtadm: bind outgoing account"

(
	umask 077
	cat >"$RES/kernel-tests.env" <<EOF
TGT_PORTAL=10.0.2.2:$TGTD_PORT
TGT_PORT=$TGTD_PORT
TGT_IQN_NOAUTH=$IQN_NOAUTH
TGT_IQN_CHAP=$IQN_CHAP
TGT_CHAP_USER=$CHAP_USER
TGT_CHAP_PASS=$CHAP_PASS
TGT_CHAP_TUSER=$CHAP_TUSER
TGT_CHAP_TPASS=$CHAP_TPASS
TGT_BACKING_NOAUTH=$BACK_NOAUTH
TGT_BACKING_CHAP=$BACK_CHAP
TGT_LUN_MIB=$LUN_MIB
EOF
) || die "cannot write $RES/kernel-tests.env"

# --- guest ------------------------------------------------------------------------
"$HERE/run.sh" --timeout "${KLAB_PHASE10_VM_TIMEOUT:-420}" --results "$RES" -- bash "$HERE/guest-phase-10.sh"
RC=$?
klab_tgtd_stop

if [ "$RC" != 0 ]; then
	for f in iscsid.log udevd.log; do
		if [ -s "$RES/$f" ]; then
			echo "$ME: --- $f ---" >&2
			tail -n 60 "$RES/$f" >&2
		fi
	done
	if [ -s "$RES/dmesg.log" ]; then
		echo "$ME: --- dmesg (iSCSI/target lines) ---" >&2
		grep -i -E 'iscsi|scsi|target|chap|auth|login|connection' "$RES/dmesg.log" | tail -n 40 >&2
	fi
	echo "$ME: --- tgtd.log ---" >&2
	tail -n 20 "$PDIR/tgtd.log" >&2
	die "guest tests failed (status $RC; results in $RES)"
fi
echo "$ME: PASS (results in $RES)"
