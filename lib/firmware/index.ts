/**
 * Boot firmware (iBFT and offload boot tables): the iSCSI targets, network
 * configuration and initiator name the firmware booted with. Sources are
 * tried in open-iscsi's order: /sys/firmware/ibft, /sys/firmware/iscsi_boot*,
 * then the raw ACPI table (/sys/firmware/acpi/tables/{iBFT,IBFT,BIFT})
 * parsed by the C core. See docs/ibft.md.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IscsiError, abortError, invalidArg } from '../errors';
import { raceSignal, validateOptionsObject, validateSignal, validateTimeout } from '../options';
import { toInitiatorName, toNetworkConfig, toNodes } from './mapping';
import { readRawTable, tableToSource } from './raw-table';
import { readSysfsSources, resolveIfaceName } from './sysfs';
import type { FirmwareNetworkConfig, FirmwareNode, FirmwareOptions, FwSource, IbftTable, ReadFirmwareTableOptions } from './types';

export const FirmwareErrorCodes = {
  INVALID_TABLE: 'FIRMWARE_INVALID_TABLE',
  UNSUPPORTED: 'FIRMWARE_UNSUPPORTED',
  EACCES: 'EACCES',
} as const;

/** Firmware reads are local file reads; this only bounds a stuck sysfs. */
export const DEFAULT_FIRMWARE_TIMEOUT_MS = 10_000;

interface Validated {
  root: string;
  signal?: AbortSignal;
  timeoutMs: number;
  includeSecrets: boolean;
  path?: string;
}

function validate(options: unknown, withPath = false): Validated {
  const o = validateOptionsObject(options);
  const root = o.root === undefined ? '/' : o.root;
  if (typeof root !== 'string' || root.length === 0) throw invalidArg('options.root', root, 'must be a non-empty path');
  const includeSecrets = o.includeSecrets === undefined ? false : o.includeSecrets;
  if (typeof includeSecrets !== 'boolean') throw invalidArg('options.includeSecrets', includeSecrets, 'must be a boolean');
  const v: Validated = {
    root: path.resolve(root),
    signal: validateSignal(o.signal),
    timeoutMs: validateTimeout(o.timeoutMs, 'options.timeoutMs', DEFAULT_FIRMWARE_TIMEOUT_MS),
    includeSecrets,
  };
  if (withPath && o.path !== undefined) {
    if (typeof o.path !== 'string' || o.path.length === 0) throw invalidArg('options.path', o.path, 'must be a non-empty path');
    v.path = o.path;
  }
  return v;
}

/** PowerPC Open Firmware iSCSI boot (open-iscsi fwparam_ppc.c) is not
 * supported: refuse clearly instead of reporting "no firmware". */
async function checkOpenFirmware(root: string): Promise<void> {
  let bootpath: string;
  try {
    bootpath = await fsp.readFile(path.join(root, 'proc/device-tree/chosen/bootpath'), 'latin1');
  } catch {
    return;
  }
  if (bootpath.includes('iscsi')) {
    throw new IscsiError(
      FirmwareErrorCodes.UNSUPPORTED,
      'Reading boot firmware failed: PowerPC Open Firmware iSCSI boot (/proc/device-tree/chosen/bootpath) is not supported',
    );
  }
}

/** All sources in open-iscsi order; the raw table only when no sysfs root
 * exists (iscsi_ibft not loaded). */
async function gatherSources(v: Validated): Promise<FwSource[]> {
  const sources = await readSysfsSources(v.root);
  if (sources.length) return sources;
  const table = await readRawTable(v.root, v.includeSecrets);
  if (table) {
    const src = tableToSource(table);
    for (const nic of src.nics) {
      const name = await resolveIfaceName(v.root, path.join(v.root, 'nonexistent'), nic.mac);
      if (name) nic.ifaceName = name;
    }
    return [src];
  }
  await checkOpenFirmware(v.root);
  return [];
}

async function run<T>(what: string, v: Validated, fn: () => Promise<T>): Promise<T> {
  // Do not start reading when already aborted; file reads cannot be
  // cancelled, so work outliving an abort/timeout must not surface later as
  // an unhandled rejection.
  if (v.signal?.aborted) throw abortError({ operation: what });
  const work = fn();
  work.catch(() => undefined);
  return raceSignal(work, { operation: what }, v.signal, v.timeoutMs);
}

/** Every iSCSI target the boot firmware describes, as node records
 * (open-iscsi `iscsiadm -m discovery -t fw` semantics). [] when the machine
 * has no iSCSI boot firmware. CHAP secrets are readable on `auth` but
 * redacted in util.inspect/JSON unless `includeSecrets`. */
export async function discoverFirmware(options?: FirmwareOptions): Promise<FirmwareNode[]> {
  const v = validate(options);
  return run('firmware discovery', v, async () => toNodes(await gatherSources(v), v.includeSecrets));
}

/** The boot NIC's configuration (libiscsi_get_firmware_network_config plus
 * prefix, VLAN, hostname, origin); null without a boot-selected NIC. */
export async function getFirmwareNetworkConfig(options?: FirmwareOptions): Promise<FirmwareNetworkConfig | null> {
  const v = validate(options);
  return run('reading the firmware network config', v, async () => toNetworkConfig(await gatherSources(v)));
}

/** The initiator name the firmware used; null when there is none. */
export async function getFirmwareInitiatorName(options?: FirmwareOptions): Promise<string | null> {
  const v = validate(options);
  return run('reading the firmware initiator name', v, async () => toInitiatorName(await gatherSources(v)));
}

/** Every field of the raw iBFT (ACPI table, or `options.path`), for tools
 * and debugging; null when no raw table is exposed (BIOS boots expose only
 * the sysfs tree). */
export async function readFirmwareTable(options?: ReadFirmwareTableOptions): Promise<IbftTable | null> {
  const v = validate(options, true);
  return run('reading the firmware table', v, () => readRawTable(v.root, v.includeSecrets, v.path));
}

export type {
  FirmwareAuth,
  FirmwareNetworkConfig,
  FirmwareNode,
  FirmwareOptions,
  ReadFirmwareTableOptions,
  IbftTable,
  IbftInitiator,
  IbftNic,
  IbftTarget,
} from './types';
