/**
 * The raw iBFT as ACPI exposes it (/sys/firmware/acpi/tables/iBFT, also
 * "IBFT" and Broadcom's "BIFT"; Linux iscsi_ibft.c acpi_find_ibft_region),
 * parsed by the C core through the addon. Used when no module exposes the
 * sysfs tree (iscsi_ibft not loaded) and by readFirmwareTable().
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IscsiError } from '../errors';
import { loadBinding } from '../native';
import { redactable } from './redact';
import type { FwSource, IbftTable, NativeIbftTable } from './types';

export const ACPI_TABLE_NAMES = ['iBFT', 'IBFT', 'BIFT'] as const;
/** Larger files are not read (the core's own limit is 1 MiB). */
const MAX_TABLE_BYTES = 1 << 20;

/** Parses table bytes; a bad table throws IscsiError FIRMWARE_INVALID_TABLE
 * whose message names the field and the file. */
export function parseTable(buf: Uint8Array, file: string, includeSecrets: boolean): IbftTable {
  let raw: NativeIbftTable;
  try {
    raw = loadBinding().parseIbft(buf);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new IscsiError(e.code ?? 'FIRMWARE_INVALID_TABLE', `Reading boot firmware failed: ${file}: ${e.message ?? 'invalid table'}`, {
      cause: err,
    });
  }
  for (const t of raw.targets) redactable(t, ['chapSecret', 'reverseChapSecret'], includeSecrets);
  return { path: file, ...raw };
}

/** Reads the first existing ACPI table file (or `explicitPath`); null when
 * none exists. */
export async function readRawTable(root: string, includeSecrets: boolean, explicitPath?: string): Promise<IbftTable | null> {
  const candidates = explicitPath
    ? [explicitPath]
    : ACPI_TABLE_NAMES.map((n) => path.join(root, 'sys/firmware/acpi/tables', n));
  for (const file of candidates) {
    let buf: Buffer;
    try {
      const fh = await fsp.open(file, 'r');
      try {
        // sysfs files report size 0 or 4096: read until EOF, bounded.
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const chunk = Buffer.alloc(65536);
          const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
          if (bytesRead === 0) break;
          total += bytesRead;
          if (total > MAX_TABLE_BYTES) {
            throw new IscsiError('FIRMWARE_INVALID_TABLE', `Reading boot firmware failed: ${file} is larger than ${MAX_TABLE_BYTES} bytes`);
          }
          chunks.push(chunk.subarray(0, bytesRead));
        }
        buf = Buffer.concat(chunks);
      } finally {
        await fh.close();
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' && !explicitPath) continue;
      if (e.code === 'EACCES' || e.code === 'EPERM') {
        throw new IscsiError('EACCES', `Reading boot firmware failed: ${file} is not readable (${e.code}); ACPI tables are readable by root only`, {
          cause: err,
        });
      }
      throw err;
    }
    return parseTable(buf, file, includeSecrets);
  }
  return null;
}

/** The table in the same normalized form the sysfs readers produce. */
export function tableToSource(table: IbftTable): FwSource {
  const src: FwSource = {
    kind: 'acpi',
    name: `acpi:${path.basename(table.path)}`,
    path: table.path,
    offload: false,
    nics: [],
    targets: [],
  };
  if (table.initiator) {
    src.initiator = { flags: table.initiator.flags };
    if (table.initiator.name) src.initiator.name = table.initiator.name;
  }
  for (const n of table.nics) {
    src.nics.push({
      name: `ethernet${n.index}`,
      index: n.index,
      flags: n.flags,
      mac: n.mac,
      vlan: n.vlan,
      origin: n.origin,
      ...(n.ip !== null && { ip: n.ip }),
      ...(n.prefixLength !== 0 && { prefixLength: n.prefixLength }),
      ...(n.subnetMask !== null && { subnetMask: n.subnetMask }),
      ...(n.gateway !== null && { gateway: n.gateway }),
      ...(n.primaryDns !== null && { primaryDns: n.primaryDns }),
      ...(n.secondaryDns !== null && { secondaryDns: n.secondaryDns }),
      ...(n.dhcpServer !== null && { dhcpServer: n.dhcpServer }),
      ...(n.hostname !== null && { hostname: n.hostname }),
    });
  }
  for (const t of table.targets) {
    src.targets.push({
      name: `target${t.index}`,
      index: t.index,
      flags: t.flags,
      port: t.port,
      lunText: t.lunSysfs,
      lun: t.lun,
      chapType: t.chapType,
      nicAssoc: t.nicAssoc,
      ...(t.ip !== null && { ip: t.ip }),
      ...(t.targetName !== null && { targetName: t.targetName }),
      ...(t.chapName !== null && { chapName: t.chapName }),
      ...(t.chapSecret !== null && { chapSecret: t.chapSecret }),
      ...(t.reverseChapName !== null && { reverseChapName: t.reverseChapName }),
      ...(t.reverseChapSecret !== null && { reverseChapSecret: t.reverseChapSecret }),
    });
  }
  return src;
}
