/**
 * open-iscsi-compatible mapping from boot contexts to the public results.
 *
 * - Nodes: every valid target of every source (fw_get_targets), tpgt 1
 *   (idbm_create_rec_from_boot_context hard-codes it), port default 3260,
 *   CHAP strings carried as they are (chap-name -> username, chap-secret ->
 *   password, rev-chap-name -> reverseUsername, rev-chap-name-secret ->
 *   reversePassword). The NIC is the one whose index equals nic-assoc.
 * - Boot entry (fw_get_entry / get_boot_info): the first NIC and the first
 *   target with flags bit 1 (firmware boot selected).
 * - Network config: libiscsi_get_firmware_network_config semantics, `dhcp`
 *   true when the NIC carries a DHCP server address; `bootproto` as
 *   iscsiadm prints it (DHCP if origin == 3 or a DHCP server is set).
 */
import { IscsiError } from '../errors';
import { redactable } from './redact';
import type { FirmwareAuth, FirmwareNetworkConfig, FirmwareNode, FwNic, FwSource, FwTarget } from './types';
import { decodeSysfsLun } from './util';

export const DEFAULT_FIRMWARE_PORT = 3260;
const BOOT_SELECTED = 0x02;

function authOf(src: FwSource, t: FwTarget, includeSecrets: boolean): FirmwareAuth | undefined {
  const hasForward = !!(t.chapName || t.chapSecret);
  const hasReverse = !!(t.reverseChapName || t.reverseChapSecret);
  if (!hasForward && !hasReverse) return undefined;
  if (!hasForward) {
    // open-iscsi refuses incoming credentials without outgoing ones (EINVAL).
    throw new IscsiError(
      'FIRMWARE_INVALID_TABLE',
      `Reading boot firmware failed: ${src.name} ${t.name} has reverse CHAP credentials but no forward ones`,
    );
  }
  const auth: FirmwareAuth = { username: t.chapName ?? '', password: t.chapSecret ?? '' };
  if (hasReverse) {
    auth.reverseUsername = t.reverseChapName ?? '';
    auth.reversePassword = t.reverseChapSecret ?? '';
  }
  return redactable(auth, ['password', 'reversePassword'], includeSecrets);
}

function nicFor(src: FwSource, t: FwTarget): FwNic | undefined {
  return src.nics.find((n) => n.index === (t.nicAssoc ?? 0));
}

function ifaceOf(src: FwSource, nic: FwNic | undefined): string {
  if (!src.offload) return 'default';
  // open-iscsi names offload ifaces <transport>.<mac>[.<ipv4|ipv6>.<n>];
  // without the iscsi_host details the transport and MAC identify it.
  return `${src.transport ?? 'offload'}.${nic?.mac ?? 'unknown'}`;
}

export function toNodes(sources: FwSource[], includeSecrets: boolean): FirmwareNode[] {
  const nodes: FirmwareNode[] = [];
  for (const src of sources) {
    for (const t of src.targets) {
      // fwparam_sysfs fill_tgt_context: target-name and ip-addr required.
      if (!t.targetName || !t.ip) continue;
      const nic = nicFor(src, t);
      const lun = t.lun !== undefined ? t.lun : t.lunText !== undefined ? decodeSysfsLun(t.lunText) : 0;
      const node: FirmwareNode = {
        target: t.targetName,
        address: t.ip,
        port: t.port ? t.port : DEFAULT_FIRMWARE_PORT,
        tpgt: 1,
        iface: ifaceOf(src, nic),
        lun,
        lunText: t.lunText ?? null,
        boot: (t.flags & BOOT_SELECTED) !== 0,
        nic: t.nicAssoc ?? 0,
        ifaceName: nic?.ifaceName ?? null,
        source: src.name,
      };
      const auth = authOf(src, t, includeSecrets);
      if (auth) node.auth = auth;
      nodes.push(node);
    }
  }
  return nodes;
}

/** The boot entry: first boot-selected NIC (and its source). */
export function bootNic(sources: FwSource[]): { src: FwSource; nic: FwNic } | null {
  for (const src of sources) {
    const nic = src.nics.find((n) => (n.flags & BOOT_SELECTED) !== 0);
    if (nic) return { src, nic };
  }
  return null;
}

export function toNetworkConfig(sources: FwSource[]): FirmwareNetworkConfig | null {
  const entry = bootNic(sources);
  if (!entry) return null;
  const { src, nic } = entry;
  const dhcpServer = nic.dhcpServer && nic.dhcpServer !== '0.0.0.0' ? nic.dhcpServer : null;
  const dns = [nic.primaryDns, nic.secondaryDns].filter((d): d is string => !!d);
  return {
    dhcp: dhcpServer !== null,
    bootproto: nic.origin === 3 || dhcpServer !== null ? 'DHCP' : 'STATIC',
    ifaceName: nic.ifaceName ?? null,
    mac: nic.mac ?? null,
    ip: nic.ip ?? null,
    prefixLength: nic.prefixLength ? nic.prefixLength : null,
    netmask: nic.subnetMask ?? null,
    gateway: nic.gateway ?? null,
    dns,
    dhcpServer,
    vlan: nic.vlan ?? 0,
    hostname: nic.hostname ?? null,
    origin: nic.origin ?? null,
    source: src.name,
  };
}

/** The initiator name of the first source that has one. open-iscsi takes
 * it from the boot entry's source; sources without a boot-selected block
 * still name the initiator, so this does not require the boot flag. */
export function toInitiatorName(sources: FwSource[]): string | null {
  const withBoot = bootNic(sources);
  if (withBoot?.src.initiator?.name) return withBoot.src.initiator.name;
  for (const src of sources) if (src.initiator?.name) return src.initiator.name;
  return null;
}
