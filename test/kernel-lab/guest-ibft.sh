#!/bin/bash
# Guest half of selftest.sh's firmware run: the lab kernel was booted by
# qemu's iPXE ROM after a `sanhook`, so iPXE left an iBFT (in low memory
# under SeaBIOS, as an ACPI table under OVMF). Saves what Linux and Debian's
# tools see into $KLAB_RESULTS/capture/:
#   sysfs-ibft/<dir>/<file>   every file of /sys/firmware/ibft, byte-exact
#                             (no trailing newline is added or removed)
#   sysfs-ibft.links          where the symlinks (ethernetN/device) point
#   acpi-iBFT.bin             /sys/firmware/acpi/tables/iBFT (UEFI boots)
#   lowmem-iBFT.bin           the table read from /dev/mem at the address
#                             the kernel logged (BIOS boots), when allowed
#   iscsiadm-fw.txt           `iscsiadm -m fw` (open-iscsi's own reader)
#   dmesg-ibft.txt            the kernel's iBFT/ACPI lines
# Fails when /sys/firmware/ibft is missing or has no initiator/target.
set -euo pipefail

R=${KLAB_RESULTS:?not running in the kernel lab}
C="$R/capture"
fail() { echo "guest-ibft: FAIL: $*" >&2; exit 1; }
rm -rf "$C"
mkdir -p "$C/sysfs-ibft"

dmesg | grep -i -E 'ibft|iscsi_ibft|ACPI: (RSDP|XSDT|RSDT|iBFT)' >"$C/dmesg-ibft.txt" || true
[ -d /sys/firmware/ibft ] || { cat "$C/dmesg-ibft.txt"; fail "/sys/firmware/ibft missing (iscsi_ibft found no table)"; }

: >"$C/sysfs-ibft.links"
for d in /sys/firmware/ibft/*/; do
	name=$(basename "$d")
	mkdir -p "$C/sysfs-ibft/$name"
	for f in "$d"*; do
		base=$(basename "$f")
		if [ -L "$f" ]; then
			echo "$name/$base -> $(readlink "$f")" >>"$C/sysfs-ibft.links"
		elif [ -f "$f" ]; then
			cat "$f" >"$C/sysfs-ibft/$name/$base" || fail "cannot read $f"
		fi
	done
done
[ -f "$C/sysfs-ibft/initiator/initiator-name" ] || fail "no initiator/initiator-name in /sys/firmware/ibft"
[ -f "$C/sysfs-ibft/target0/target-name" ] || fail "no target0/target-name in /sys/firmware/ibft"
echo "guest-ibft: initiator $(cat "$C/sysfs-ibft/initiator/initiator-name")"
echo "guest-ibft: target0 $(cat "$C/sysfs-ibft/target0/target-name") at $(cat "$C/sysfs-ibft/target0/ip-addr"):$(cat "$C/sysfs-ibft/target0/port")"

for sig in iBFT IBFT BIFT; do
	if [ -r "/sys/firmware/acpi/tables/$sig" ]; then
		cat "/sys/firmware/acpi/tables/$sig" >"$C/acpi-$sig.bin"
		echo "guest-ibft: saved /sys/firmware/acpi/tables/$sig ($(stat -c %s "$C/acpi-$sig.bin") bytes)"
	fi
done

# BIOS boot: the kernel logs "iBFT found at 0x...". The low 1 MiB is readable
# through /dev/mem when it is not System RAM; iPXE hides its memory from the
# OS, so this usually works. Length = the u32 at offset 4 of the table.
addr=$(dmesg | sed -n 's/.*iBFT found at \(0x[0-9a-fA-F]*\).*/\1/p' | head -n1)
if [ -n "$addr" ] && [ -c /dev/mem ]; then
	if hdr=$(dd if=/dev/mem bs=1 skip=$((addr)) count=8 status=none 2>/dev/null | od -An -tx1 | tr -d ' \n') &&
		[ "${hdr:0:8}" = 69424654 ]; then # "iBFT"
		len=$((16#${hdr:14:2}${hdr:12:2}${hdr:10:2}${hdr:8:2}))
		dd if=/dev/mem bs=1 skip=$((addr)) count="$len" status=none >"$C/lowmem-iBFT.bin"
		echo "guest-ibft: saved the table from /dev/mem at $addr ($len bytes)"
	else
		echo "guest-ibft: /dev/mem at $addr does not read back the table (hdr '$hdr'); sysfs only"
	fi
fi

# open-iscsi's own firmware reader, for comparison with our parser later.
iscsiadm -m fw >"$C/iscsiadm-fw.txt" 2>&1 || fail "iscsiadm -m fw failed: $(cat "$C/iscsiadm-fw.txt")"
echo "guest-ibft: iscsiadm -m fw (secrets redacted here, kept in the capture):"
sed 's/^\(node.session.auth.password[a-z_]*\) = .*/\1 = ********/' "$C/iscsiadm-fw.txt"
echo "guest-ibft: PASS"
