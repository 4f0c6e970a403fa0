/** Small helpers shared by the firmware readers. */
import { isIP } from 'node:net';

/**
 * Canonical text for an address read from sysfs. Linux prints IPv4-mapped
 * iBFT addresses as dotted quads and others with %pI6 (eight zero-padded
 * groups, "2001:0db8:0000:..."); the raw-table parser uses inet_ntop's
 * compressed form. Both become the same compressed lowercase text here.
 */
export function normalizeIp(text: string): string {
  const t = text.trim();
  if (isIP(t) === 6) {
    try {
      const host = new URL(`http://[${t}]/`).hostname;
      return host.slice(1, -1);
    } catch {
      return t.toLowerCase();
    }
  }
  return t;
}

/**
 * Decodes the Linux sysfs `lun` text (each of the 8 LUN bytes printed as
 * "%x" without padding) when it is unambiguous for a single-level
 * peripheral or flat-space LUN: "01000000" -> 1, "01f000000" -> 31.
 * Returns null otherwise (the raw table has the exact bytes).
 */
export function decodeSysfsLun(text: string): number | null {
  const s = text.trim().toLowerCase();
  // Peripheral: 00 LL 00 00 00 00 00 00 -> "0" + hex(LL) + "000000".
  let m = /^0([0-9a-f]{1,2})000000$/.exec(s);
  if (m) return Number.parseInt(m[1], 16);
  // Flat space: (0x40|hi) lo 00.. -> two hex digits 4x..7x, then hex(lo).
  m = /^([4-7][0-9a-f])([0-9a-f]{1,2})000000$/.exec(s);
  if (m) return ((Number.parseInt(m[1], 16) & 0x3f) << 8) | Number.parseInt(m[2], 16);
  return null;
}
