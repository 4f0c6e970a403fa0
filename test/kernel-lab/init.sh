#!/bin/sh
# /init of the kernel lab initramfs (busybox ash; copied in by setup.sh).
#
# Loads the modules listed in /modules/order (already in dependency order),
# brings up eth0 as 10.0.2.15/24 on qemu's user network, mounts the host root
# read-only over 9p at /host and the writable results share over the results
# directory's own host path inside /host, gives the chroot private writable
# places (tmpfs) wherever iscsid and tools write, runs the requested command
# inside `chroot /host`, writes its exit status to the results share and
# powers the machine off.
#
# Kernel command line parameters (all optional except klab.results):
#   klab.results=PATH   host path of the results directory (9p tag klabres)
#   klab.script=PATH    script to run in the chroot (default PATH/cmd.sh)
#   klab.cmd=A,B,C      run "A B C" instead (commas stand for spaces)
#   klab.shell=1        start a shell on the console if anything fails
#
# Files written to the results directory:
#   booted        created once the shares are mounted (its host mtime marks
#                 the end of the boot); its content is the guest uptime
#   init.log      what this script did
#   output.log    stdout+stderr of the command
#   timings       guest uptimes: init_start, cmd_start, cmd_end
#   exit-status   the command's exit status (absent = the lab failed)
export PATH=/bin
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
T_INIT=$(cut -d' ' -f1 /proc/uptime)

LOG=/tmp/init.log
log() { echo "klab-init: $*" | tee -a "$LOG" >/dev/console; }

RES=""
SCRIPT=""
CMD=""
SHELL_ON_FAIL=""
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	klab.results=*) RES=${arg#klab.results=} ;;
	klab.script=*) SCRIPT=${arg#klab.script=} ;;
	klab.cmd=*) CMD=$(echo "${arg#klab.cmd=}" | tr ',' ' ') ;;
	klab.shell=1) SHELL_ON_FAIL=1 ;;
	esac
done

halt_now() {
	sync
	# An ACPI power-off ends qemu; with -no-reboot a reboot does too.
	poweroff -f
	reboot -f
}

fail() {
	log "FATAL: $*"
	if [ -n "$RES" ] && [ -d "/host$RES" ] && grep -q " /host$RES " /proc/mounts; then
		cp "$LOG" "/host$RES/init.log" 2>/dev/null
		echo "$*" >"/host$RES/lab-error"
	fi
	[ -n "$SHELL_ON_FAIL" ] && setsid cttyhack sh
	halt_now
}

# --- modules, in the order setup.sh resolved from modules.dep ---------------
KVER=$(cat /kver)
[ "$(uname -r)" = "$KVER" ] || fail "initramfs built for $KVER but kernel is $(uname -r)"
for m in $(cat /modules/order); do
	out=$(insmod "/modules/$m" 2>&1) || case "$out" in
		*"File exists"*) ;;
		# CPU-specific variants (crc32c-intel, crct10dif-pclmul) refuse to
		# load when TCG's CPU lacks the instructions; the generic ones
		# loaded before them do the work.
		*"No such device"*) log "skipped $m (no such device)" ;;
		*) fail "insmod $m: $out" ;;
	esac
done
log "loaded $(wc -l </modules/order) modules"

# --- network: 10.0.2.15/24 on qemu's user network ---------------------------
# No default route on purpose: the project allows traffic only to the host's
# loopback, which slirp presents as 10.0.2.2, on the on-link subnet. Without a
# default route nothing in the guest can reach beyond qemu's user network.
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || fail "no eth0 (virtio_net/e1000 did not probe)"
ip addr add 10.0.2.15/24 dev eth0 || fail "ip addr add failed"
ip link set eth0 up || fail "ip link set eth0 up failed"
hostname klab
log "eth0 up"

# --- the host root, read-only, and the results share ------------------------
# msize 256 KiB: the default 8 KiB makes every read of the host tree slow.
NINEP=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$NINEP,ro" klabroot /host || fail "mount 9p host root failed"
log "host root mounted"
[ -n "$RES" ] || fail "no klab.results= on the kernel command line"
case "$RES" in /*) ;; *) fail "klab.results must be absolute: $RES" ;; esac
[ -d "/host$RES" ] || fail "results dir $RES not visible in the host root"
# Mount over the same path inside /host, so the chroot sees the results
# directory at its host path (and can be told about it via $KLAB_RESULTS).
log "results dir visible"
mount -t 9p -o "$NINEP" klabres "/host$RES" || fail "mount 9p results share failed"
log "results share mounted"
cut -d' ' -f1 /proc/uptime >"/host$RES/booted"
echo "init_start $T_INIT" >"/host$RES/timings"

# --- the chroot: kernel filesystems and private writable places -------------
mount --bind /proc /host/proc || fail "bind /proc"
mount --bind /sys /host/sys || fail "bind /sys"
mount --bind /dev /host/dev || fail "bind /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts || log "devpts mount failed"
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm || log "tmpfs /dev/shm failed"
# bash process substitution and many tools need these links; devtmpfs lacks them.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
if [ -d /host/sys/kernel/config ] && grep -q configfs /proc/filesystems; then
	mount -t configfs configfs /host/sys/kernel/config || log "configfs mount failed"
fi

# tmpfs over a host directory; with "keep", its current content is copied
# in first (the host's iscsid.conf and initiatorname.iscsi must stay visible).
overlay_tmpfs() {
	dir=$1
	[ -d "/host$dir" ] || return 0
	if [ "${2:-}" = keep ]; then
		mkdir -p "/tmp/save$dir"
		cp -a "/host$dir/." "/tmp/save$dir/" || fail "cannot copy $dir"
	fi
	mount -t tmpfs -o mode=0755 tmpfs "/host$dir" || fail "tmpfs $dir failed"
	if [ "${2:-}" = keep ]; then
		cp -a "/tmp/save$dir/." "/host$dir/" || fail "cannot restore $dir"
		rm -rf "/tmp/save$dir"
	fi
}
# /run: pid files, iscsid's lock dir (/run/lock/iscsi). /etc/iscsi and
# /var/lib/iscsi: the node database (Debian uses /etc/iscsi). /var/tmp,
# /root: scratch, empty. The host's /tmp stays visible (tested files may live
# there); the chroot gets TMPDIR=/run/klab/tmp instead.
overlay_tmpfs /run
mkdir -p /host/run/lock /host/run/klab/tmp /host/run/klab/home
chmod 1777 /host/run/lock /host/run/klab/tmp
overlay_tmpfs /etc/iscsi keep
overlay_tmpfs /var/lib/iscsi keep
overlay_tmpfs /var/tmp
chmod 1777 /host/var/tmp
overlay_tmpfs /root
log "chroot ready"

# --- the command ---------------------------------------------------------------
[ -n "$SCRIPT" ] || SCRIPT="$RES/cmd.sh"
echo "cmd_start $(cut -d' ' -f1 /proc/uptime)" >>"/host$RES/timings"
set -- env -i \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/run/klab/home TMPDIR=/run/klab/tmp TERM=dumb LANG=C.UTF-8 \
	SYSTEMD_IGNORE_CHROOT=1 KLAB_GUEST=1 KLAB_RESULTS="$RES" \
	chroot /host
if [ -n "$CMD" ]; then
	log "running: $CMD"
	# shellcheck disable=SC2086
	"$@" /bin/sh -c "$CMD" >"/host$RES/output.log" 2>&1 </dev/null
	rc=$?
else
	[ -f "/host$SCRIPT" ] || fail "script $SCRIPT not found"
	log "running: $SCRIPT"
	"$@" /bin/sh "$SCRIPT" >"/host$RES/output.log" 2>&1 </dev/null
	rc=$?
fi
echo "cmd_end $(cut -d' ' -f1 /proc/uptime)" >>"/host$RES/timings"
log "command exited with status $rc"
cp "$LOG" "/host$RES/init.log"
echo "$rc" >"/host$RES/exit-status.tmp" && mv "/host$RES/exit-status.tmp" "/host$RES/exit-status"
sync
halt_now
