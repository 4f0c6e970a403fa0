/**
 * Readers for the kernel's firmware boot sysfs trees:
 *  - /sys/firmware/ibft/ (iscsi_ibft module), and
 *  - /sys/firmware/iscsi_boot<host>/ (qla4xxx / be2iscsi offload cards),
 * both made by drivers/scsi/iscsi_boot_sysfs.c. Rules follow open-iscsi's
 * usr/fwparam_ibft/fwparam_sysfs.c: a root counts only if it contains
 * `initiator`; absent attributes are absent files; exactly one trailing
 * "\n" is stripped (subnet-mask has none); a NIC or target with flags 0 is
 * invalid; a target needs target-name and ip-addr; port defaults later.
 * Every attribute is mode 0444 but the kernel refuses reads without
 * CAP_SYS_ADMIN (EACCES), reported as such rather than as "no firmware".
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IscsiError } from '../errors';
import type { FwNic, FwSource, FwTarget } from './types';
import { normalizeIp } from './util';

export const FIRMWARE_DIR = 'sys/firmware';

function accessError(file: string, err: NodeJS.ErrnoException): IscsiError {
  return new IscsiError(
    'EACCES',
    `Reading boot firmware failed: ${file} is not readable (${err.code}); the kernel only shows iBFT attributes to CAP_SYS_ADMIN, run as root`,
    { errno: typeof err.errno === 'number' ? err.errno : undefined, cause: err },
  );
}

/** One attribute: undefined when the file is absent. */
export async function readAttr(dir: string, name: string): Promise<string | undefined> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    if (e.code === 'EACCES' || e.code === 'EPERM') throw accessError(file, e);
    throw err;
  }
  // open-iscsi sysfs_get_str strips one trailing newline.
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

async function readInt(dir: string, name: string): Promise<number | undefined> {
  const v = await readAttr(dir, name);
  if (v === undefined) return undefined;
  const n = Number.parseInt(v.trim(), 10);
  return Number.isFinite(n) ? n : undefined;
}

async function readIp(dir: string, name: string): Promise<string | undefined> {
  const v = await readAttr(dir, name);
  return v === undefined || v === '' ? undefined : normalizeIp(v);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort(naturalCompare);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return [];
    if (e.code === 'EACCES' || e.code === 'EPERM') throw accessError(dir, e);
    throw err;
  }
}

/** "ethernet3" -> 3 when the index file is missing. */
function indexFromName(name: string): number {
  const n = Number.parseInt(name.replace(/\D/g, ''), 10);
  return Number.isFinite(n) ? n : 0;
}

/** "target2" < "target10". */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Interface name: ethernetN/device/net/<if> (current layout) or
 * device/net:<if> (old layout), else the interface whose MAC matches. */
export async function resolveIfaceName(root: string, nicDir: string, mac: string | undefined): Promise<string | undefined> {
  const dev = path.join(nicDir, 'device');
  const viaNet = await listDir(path.join(dev, 'net'));
  if (viaNet.length) return viaNet[0];
  const old = (await listDir(dev)).find((n) => n.startsWith('net:'));
  if (old) return old.slice(4);
  if (!mac) return undefined;
  const netDir = path.join(root, 'sys/class/net');
  for (const ifname of await listDir(netDir)) {
    let addr: string | undefined;
    try {
      addr = (await fsp.readFile(path.join(netDir, ifname, 'address'), 'utf8')).trim().toLowerCase();
    } catch {
      continue;
    }
    if (addr === mac.toLowerCase()) return ifname;
  }
  return undefined;
}

async function readNic(root: string, dir: string, name: string, offload: boolean): Promise<FwNic | null> {
  const flags = await readInt(dir, 'flags');
  // fwparam_sysfs: flags 0 = invalid block; any non-zero value is accepted.
  if (!flags) return null;
  const mac = await readAttr(dir, 'mac');
  const nic: FwNic = { name, index: (await readInt(dir, 'index')) ?? indexFromName(name), flags };
  if (mac) nic.mac = mac.toLowerCase();
  const set = <K extends keyof FwNic>(k: K, v: FwNic[K] | undefined): void => {
    if (v !== undefined) nic[k] = v;
  };
  set('ip', await readIp(dir, 'ip-addr'));
  set('prefixLength', await readInt(dir, 'prefix-len'));
  set('subnetMask', await readAttr(dir, 'subnet-mask'));
  set('origin', await readInt(dir, 'origin'));
  set('gateway', await readIp(dir, 'gateway'));
  set('primaryDns', await readIp(dir, 'primary-dns'));
  set('secondaryDns', await readIp(dir, 'secondary-dns'));
  set('dhcpServer', await readIp(dir, 'dhcp'));
  set('vlan', await readInt(dir, 'vlan'));
  set('hostname', await readAttr(dir, 'hostname'));
  if (!offload) set('ifaceName', await resolveIfaceName(root, dir, nic.mac));
  return nic;
}

async function readTarget(dir: string, name: string): Promise<FwTarget | null> {
  const flags = await readInt(dir, 'flags');
  if (!flags) return null;
  const t: FwTarget = { name, index: (await readInt(dir, 'index')) ?? indexFromName(name), flags };
  const set = <K extends keyof FwTarget>(k: K, v: FwTarget[K] | undefined): void => {
    if (v !== undefined && v !== '') t[k] = v;
  };
  set('ip', await readIp(dir, 'ip-addr'));
  set('port', await readInt(dir, 'port'));
  set('lunText', await readAttr(dir, 'lun'));
  set('chapType', await readInt(dir, 'chap-type'));
  set('nicAssoc', await readInt(dir, 'nic-assoc'));
  set('targetName', await readAttr(dir, 'target-name'));
  set('chapName', await readAttr(dir, 'chap-name'));
  set('chapSecret', await readAttr(dir, 'chap-secret'));
  set('reverseChapName', await readAttr(dir, 'rev-chap-name'));
  // The kernel's file name really is rev-chap-name-secret.
  set('reverseChapSecret', await readAttr(dir, 'rev-chap-name-secret'));
  return t;
}

async function readRoot(root: string, dir: string, name: string): Promise<FwSource | null> {
  if (!(await isDir(path.join(dir, 'initiator')))) return null;
  const offload = name !== 'ibft';
  const src: FwSource = { kind: offload ? 'iscsi_boot' : 'ibft', name, path: dir, offload, nics: [], targets: [] };
  if (offload) {
    // iscsi_boot<host_no>: the driver name tells open-iscsi's transport.
    const hostNo = name.slice('iscsi_boot'.length);
    const proc = await readAttr(path.join(root, 'sys/class/scsi_host', `host${hostNo}`), 'proc_name').catch(() => undefined);
    if (proc) src.transport = proc.trim();
  }
  const ini = path.join(dir, 'initiator');
  const iname = await readAttr(ini, 'initiator-name');
  src.initiator = { flags: await readInt(ini, 'flags') };
  if (iname) src.initiator.name = iname;
  for (const entry of await listDir(dir)) {
    const full = path.join(dir, entry);
    if (!(await isDir(full))) continue;
    if (entry.includes('ethernet')) {
      const nic = await readNic(root, full, entry, offload);
      if (nic) src.nics.push(nic);
    } else if (entry.includes('target')) {
      const t = await readTarget(full, entry);
      if (t) src.targets.push(t);
    }
  }
  return src;
}

/** Every firmware sysfs root under `root`, /sys/firmware/ibft first, then
 * /sys/firmware/iscsi_boot* in natural order. */
export async function readSysfsSources(root: string): Promise<FwSource[]> {
  const base = path.join(root, FIRMWARE_DIR);
  const out: FwSource[] = [];
  const ibft = await readRoot(root, path.join(base, 'ibft'), 'ibft');
  if (ibft) out.push(ibft);
  for (const entry of await listDir(base)) {
    if (!entry.startsWith('iscsi_boot')) continue;
    const src = await readRoot(root, path.join(base, entry), entry);
    if (src) out.push(src);
  }
  return out;
}
