#!/bin/sh
# Run dracut's own kernel-command-line parsers on a command line and print
# what they extracted, one "<key>\t<set|unset>\t<value>" line per variable.
#
#   sh test/harness/dracut-parse.sh DRACUT_ROOT CMDLINE_FILE
#
# DRACUT_ROOT is what test/harness/fetch-dracut.sh prints (Debian's
# dracut-core + dracut-network unpacked). Run it with dash and with bash:
# dracut initramfs images use either as /bin/sh (modules 00dash / 00bash).
#
# The functions run are dracut's, unmodified, sourced from the unpacked
# 99base/dracut-lib.sh and 40network/net-lib.sh. The only stubs:
#  - getcmdline: dracut reads /etc/cmdline, /etc/cmdline.d/*.conf and
#    /proc/cmdline and hands the joined text to dracut-getarg(s) through
#    $CMDLINE; here it returns the test file instead of the host's files.
#    The argument lookup itself is still dracut-util, the real binary.
#  - die: dracut's halts the machine (systemctl halt / emergency shell).
#  - wait_for_dev: only defined so dracut-lib.sh does not source
#    /lib/dracut-dev-lib.sh, which is not installed on the host.
# PREFIX is set so dracut-lib.sh skips creating /run/initramfs and linking
# /var/log, and DRACUT_SYSTEMD so warn() writes to stderr, not /dev/kmsg.
#
# What is printed mirrors how dracut 059 consumes each argument:
#  netroot=   parse_iscsi_root per value of `getargs netroot=`
#             (95iscsi/parse-iscsiroot.sh, iscsiroot.sh handle_netroot)
#  ip=        ip_to_var per value of `getargs ip=` (35network-legacy/parse-ip-opts.sh)
#  ifname=    parse_ifname_opts (40network/net-lib.sh)
#  vlan=      split into <vlanname>:<phydevice> as 35network-legacy/parse-vlan.sh does
#  rd.iscsi.param=  split into name/value as iscsiroot.sh does (${p%=*}, ${p#*=})
#  rd.iscsi.initiator, rd.iscsi.firmware, rd.iscsi.ibft, rd.neednet: getarg/getargbool
#  exactly as parse-iscsiroot.sh / parse-ibft.sh / network modules ask.

if [ $# -ne 2 ]; then
    echo "usage: $0 DRACUT_ROOT CMDLINE_FILE" >&2
    exit 2
fi
harness_root=$1
harness_cmdline=$2
harness_mods=$harness_root/usr/lib/dracut/modules.d
for f in "$harness_mods/99base/dracut-lib.sh" "$harness_mods/40network/net-lib.sh" \
    "$harness_root/bin/dracut-getarg" "$harness_cmdline"; do
    if [ ! -e "$f" ]; then
        echo "dracut-parse: $f not found (run test/harness/fetch-dracut.sh)" >&2
        exit 2
    fi
done

PATH=$harness_root/bin:$PATH
export PATH
PREFIX=/dracut-harness
DRACUT_SYSTEMD=1
RD_DEBUG=no
DRACUT_QUIET=yes
export PREFIX DRACUT_SYSTEMD RD_DEBUG DRACUT_QUIET
unset NEWROOT

wait_for_dev() { :; }

# shellcheck disable=SC1090
. "$harness_mods/99base/dracut-lib.sh"
# shellcheck disable=SC1090
. "$harness_mods/40network/net-lib.sh"

getcmdline() {
    # dracut joins the lines of its sources with spaces; our file is one line.
    printf '%s' "$(cat "$harness_cmdline")"
}

die() {
    echo "die: $*" >&2
    echo "die	set	$*"
    exit 3
}

# emit KEY VARNAME: print the variable's state and value.
emit() {
    eval "_h_isset=\${$2+set}"
    eval "_h_val=\${$2-}"
    if [ "$_h_isset" = set ]; then
        printf '%s\tset\t%s\n' "$1" "$_h_val"
    else
        printf '%s\tunset\t\n' "$1"
    fi
}

emitval() {
    printf '%s\tset\t%s\n' "$1" "$2"
}

printf 'dracut\tset\t%s\n' "$(cat "$harness_root/.version" 2> /dev/null)"

if v=$(getarg rd.iscsi.initiator -d iscsi_initiator=); then
    emitval initiator "$v"
fi
if getargbool 0 rd.iscsi.firmware -d -y iscsi_firmware; then emitval firmware 1; else emitval firmware 0; fi
if getargbool 0 rd.iscsi.ibft -d "ip=ibft"; then emitval ibft 1; else emitval ibft 0; fi
if getargbool 0 rd.neednet; then emitval neednet 1; else emitval neednet 0; fi

n=0
for nroot in $(getargs netroot=); do
    unset iscsi_username iscsi_password iscsi_in_username iscsi_in_password \
        iscsi_target_ip iscsi_protocol iscsi_target_port iscsi_iface_name \
        iscsi_netdev_name iscsi_lun iscsi_target_name
    parse_iscsi_root "$nroot"
    emitval "netroot.$n.rc" "$?"
    emitval "netroot.$n.raw" "$nroot"
    for var in iscsi_username iscsi_password iscsi_in_username iscsi_in_password \
        iscsi_target_ip iscsi_protocol iscsi_target_port iscsi_iface_name \
        iscsi_netdev_name iscsi_lun iscsi_target_name; do
        emit "netroot.$n.$var" "$var"
    done
    n=$((n + 1))
done
emitval netroot.count "$n"

n=0
for p in $(getargs ip=); do
    ip_to_var "$p"
    emitval "ip.$n.raw" "$p"
    for var in ip srv gw mask hostname dev autoconf macaddr mtu dns1 dns2; do
        emit "ip.$n.$var" "$var"
    done
    n=$((n + 1))
done
emitval ip.count "$n"

n=0
for p in $(getargs ifname=); do
    parse_ifname_opts "$p"
    emit "ifname.$n.if" ifname_if
    emit "ifname.$n.mac" ifname_mac
    n=$((n + 1))
done
emitval ifname.count "$n"

n=0
for p in $(getargs vlan=); do
    emitval "vlan.$n.name" "${p%%:*}"
    emitval "vlan.$n.phys" "${p#*:}"
    n=$((n + 1))
done
emitval vlan.count "$n"

n=0
for p in $(getargs rd.iscsi.param -d iscsi_param); do
    emitval "param.$n.name" "${p%=*}"
    emitval "param.$n.value" "${p#*=}"
    n=$((n + 1))
done
emitval param.count "$n"
exit 0
