# shellcheck shell=bash
# Host-side private tgtd for kernel-lab phases (sourced, not run).
#
#   . lib-tgtd.sh
#   klab_tgtd_start WORKDIR || die ...   # sets TGTD_PID, TGTD_CONTROL, TGTD_PORT
#   klab_tgtadm --op new --mode target --tid 1 -T IQN || die ...
#   klab_tgtd_stop                        # SIGKILL by pid (safe to call twice)
#
# What tgtd does that shapes this (tgt 1.0.85, Debian 12; the same facts as
# test/harness/tgtd-process.js, which the jest suites use):
#  - `-C N` selects the control socket /var/run/tgtd/socket.N; another tgtd
#    with the same N exits at once, so each attempt picks another N (<= 32767).
#  - When it cannot bind the requested portal it silently listens on
#    0.0.0.0:3260 instead: a start only counts when `--mode portal` lists
#    exactly 127.0.0.1:OURPORT.
#  - It ignores SIGTERM while it has targets: it is stopped with SIGKILL, by
#    the pid we started (never by name).
# The portal is 127.0.0.1 only (the project talks to loopback only); the
# guest reaches it as 10.0.2.2:PORT through qemu's user network.

TGTD_PID=""
TGTD_CONTROL=""
TGTD_PORT=""

klab_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# One attempt; returns 1 (tgtd killed) when it exited, never answered or
# bound the wrong portal.
klab_tgtd_try() {
	local work=$1 attempt=$2 out
	TGTD_CONTROL=$((1000 + ($$ * 31 + attempt * 7919 + RANDOM) % 31000))
	TGTD_PORT=$(klab_free_port) || return 1
	# cwd = the work dir (exec keeps the pid), so a leftover is easy to trace.
	(cd "$work" && exec tgtd -f -C "$TGTD_CONTROL" --iscsi "portal=127.0.0.1:$TGTD_PORT") >>"$work/tgtd.log" 2>&1 &
	TGTD_PID=$!
	for _ in $(seq 100); do
		kill -0 "$TGTD_PID" 2>/dev/null || break
		if out=$(tgtadm -C "$TGTD_CONTROL" --lld iscsi --op show --mode portal 2>/dev/null); then
			# Still alive? Another tgtd owning this control port may have answered.
			case "$out" in *"127.0.0.1:$TGTD_PORT,"*) kill -0 "$TGTD_PID" 2>/dev/null && return 0 ;; esac
			break
		fi
		sleep 0.05
	done
	klab_tgtd_stop
	return 1
}

klab_tgtd_start() {
	local work=${1:?klab_tgtd_start WORKDIR} attempt
	for attempt in 1 2 3 4 5 6 7 8; do
		klab_tgtd_try "$work" "$attempt" && return 0
	done
	return 1
}

klab_tgtadm() {
	tgtadm -C "$TGTD_CONTROL" --lld iscsi "$@" >/dev/null
}

klab_tgtd_stop() {
	if [ -n "$TGTD_PID" ]; then
		kill -9 "$TGTD_PID" 2>/dev/null
		wait "$TGTD_PID" 2>/dev/null
		TGTD_PID=""
	fi
	return 0
}
