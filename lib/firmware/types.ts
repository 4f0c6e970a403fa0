/**
 * Shapes of the firmware API: the raw table as the addon returns it, the
 * normalized "boot context" every source (sysfs ibft, iscsi_boot, raw
 * table) is read into, and the public results.
 */

/** One iBFT structure header's fields, decoded. */
export interface IbftStructHeader {
  /** Byte offset of the structure in the table. */
  offset: number;
  version: number;
  length: number;
  index: number;
  flags: number;
  /** flags bit 0 */
  valid: boolean;
  /** flags bit 1: the firmware booted from this block. */
  bootSelected: boolean;
}

export interface IbftInitiator extends IbftStructHeader {
  isnsServer: string | null;
  slpServer: string | null;
  priRadiusServer: string | null;
  secRadiusServer: string | null;
  name: string | null;
}

export interface IbftNic extends IbftStructHeader {
  /** flags bit 2: global (set) or link-local (clear) address. */
  global: boolean;
  ip: string | null;
  prefixLength: number;
  /** IPv4 mask derived from prefixLength as Linux does; null when 0. */
  subnetMask: string | null;
  /** NL_PREFIX_ORIGIN: 0 other, 1 manual, 2 well-known, 3 DHCP, 4 RA, 15/16 unchanged. */
  origin: number;
  gateway: string | null;
  primaryDns: string | null;
  secondaryDns: string | null;
  dhcpServer: string | null;
  vlan: number;
  /** Lowercase "52:54:00:12:34:56". */
  mac: string;
  /** bus << 8 | device << 3 | function */
  pciBdf: number;
  hostname: string | null;
}

export interface IbftTarget extends IbftStructHeader {
  radiusChap: boolean;
  radiusReverseChap: boolean;
  ip: string | null;
  /** As stored; 0 means the default 3260 to consumers. */
  port: number;
  /** The 8 LUN bytes exactly as in the table. */
  lunRaw: Buffer;
  /** Decoded peripheral/flat LUN, null for other formats. */
  lun: number | null;
  /** What Linux prints in sysfs (each byte "%x", ambiguous). */
  lunSysfs: string;
  /** 0 none, 1 CHAP, 2 mutual CHAP */
  chapType: number;
  nicAssoc: number;
  /** Index into `nics` of the associated NIC. */
  nic: number;
  targetName: string | null;
  chapName: string | null;
  /** Redacted in inspect/JSON unless includeSecrets. */
  chapSecret: string | null;
  reverseChapName: string | null;
  /** Redacted in inspect/JSON unless includeSecrets. */
  reverseChapSecret: string | null;
}

/** What the addon's parseIbft returns. */
export interface NativeIbftTable {
  signature: string;
  length: number;
  revision: number;
  checksum: number;
  oemId: string;
  oemTableId: string;
  oemRevision: number;
  aslCompilerId: number;
  aslCompilerRevision: number;
  control: {
    version: number;
    length: number;
    flags: number;
    singleLogin: boolean;
    extensionsOffset: number;
    pairs: Array<{ nicOffset: number; targetOffset: number }>;
  };
  initiator: IbftInitiator | null;
  nics: IbftNic[];
  targets: IbftTarget[];
}

/** Every field of a raw table, plus where it was read. */
export interface IbftTable extends NativeIbftTable {
  /** The file the bytes came from. */
  path: string;
}

/** Which firmware interface a value came from. */
export type FirmwareSourceKind = 'ibft' | 'iscsi_boot' | 'acpi';

// ---- the normalized boot context (open-iscsi's struct boot_context) ----

export interface FwInitiator {
  name?: string;
  flags?: number;
}

export interface FwNic {
  /** Directory / structure name, e.g. "ethernet0". */
  name: string;
  index: number;
  flags: number;
  ip?: string;
  prefixLength?: number;
  subnetMask?: string;
  origin?: number;
  gateway?: string;
  primaryDns?: string;
  secondaryDns?: string;
  dhcpServer?: string;
  vlan?: number;
  mac?: string;
  hostname?: string;
  /** Kernel interface name from the device link or a MAC match. */
  ifaceName?: string;
}

export interface FwTarget {
  name: string;
  index: number;
  flags: number;
  ip?: string;
  port?: number;
  /** Linux sysfs LUN text (absent for offload roots). */
  lunText?: string;
  /** Exact LUN when known (raw table). */
  lun?: number | null;
  chapType?: number;
  nicAssoc?: number;
  targetName?: string;
  chapName?: string;
  chapSecret?: string;
  reverseChapName?: string;
  reverseChapSecret?: string;
}

export interface FwSource {
  kind: FirmwareSourceKind;
  /** "ibft", "iscsi_boot0", or "acpi:iBFT". */
  name: string;
  /** Directory or file it was read from. */
  path: string;
  /** Offload HBA (iscsi_boot*): the card logs in itself. */
  offload: boolean;
  /** Offload driver name (scsi_host proc_name) when known. */
  transport?: string;
  initiator?: FwInitiator;
  nics: FwNic[];
  targets: FwTarget[];
}

// ---- public results ----

export interface FirmwareAuth {
  username: string;
  /** Redacted in inspect/JSON unless includeSecrets. */
  password: string;
  reverseUsername?: string;
  /** Redacted in inspect/JSON unless includeSecrets. */
  reversePassword?: string;
}

export interface FirmwareNode {
  /** Target IQN. */
  target: string;
  address: string;
  /** Default 3260 when the firmware gives none. */
  port: number;
  /** Always 1, as open-iscsi hard-codes it for firmware records. */
  tpgt: 1;
  /** open-iscsi iface: "default" (software iSCSI) or "<transport>.<mac>" (offload). */
  iface: string;
  /** Decoded LUN, or null when the sysfs text is ambiguous/undecodable. */
  lun: number | null;
  /** The LUN as Linux sysfs prints it (iscsiadm's node.boot_lun). */
  lunText: string | null;
  /** This target has the firmware-boot-selected flag. */
  boot: boolean;
  auth?: FirmwareAuth;
  /** Index (iBFT NIC index) of the NIC used to reach the target. */
  nic: number;
  /** Kernel interface name of that NIC, when known. */
  ifaceName: string | null;
  /** Where it was read: "ibft", "iscsi_boot0", "acpi:iBFT". */
  source: string;
}

export interface FirmwareNetworkConfig {
  /** libiscsi semantics: true when the NIC carries a DHCP server address. */
  dhcp: boolean;
  /** iscsiadm's iface.bootproto: DHCP if origin is 3 or a DHCP server is set. */
  bootproto: 'DHCP' | 'STATIC';
  ifaceName: string | null;
  mac: string | null;
  ip: string | null;
  prefixLength: number | null;
  netmask: string | null;
  gateway: string | null;
  dns: string[];
  dhcpServer: string | null;
  vlan: number;
  hostname: string | null;
  origin: number | null;
  source: string;
}

export interface FirmwareOptions {
  /** Filesystem root the /sys paths are resolved under (default '/'). */
  root?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Show CHAP secrets in inspect/JSON output (default false). */
  includeSecrets?: boolean;
}

export interface ReadFirmwareTableOptions extends FirmwareOptions {
  /** Read this file instead of /sys/firmware/acpi/tables/{iBFT,IBFT,BIFT}
   * (e.g. a table dumped from low memory). */
  path?: string;
}
