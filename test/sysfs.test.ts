/**
 * lib/kernel/sysfs.ts against real sysfs trees captured in the kernel lab
 * (test/fixtures/sysfs-iscsi/, made by test/kernel-lab/capture-sysfs.sh) and
 * hand-made trees for what the lab cannot easily produce (IPv6 portal,
 * missing block device, hostile files).
 */
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { IscsiError } from '../lib/errors';
import { byPathName, findSessions, formatLun, readSession, readSessions, waitForSession } from '../lib/kernel/sysfs';
import type { KernelSession } from '../lib/kernel/types';

const FIX = path.join(__dirname, 'fixtures/sysfs-iscsi');
const LOGGED_IN = path.join(FIX, 'logged-in');
const FAILED = path.join(FIX, 'failed');
const PORT = Number(fs.readFileSync(path.join(LOGGED_IN, 'port'), 'utf8').trim());
const IQN_A = 'iqn.2026-11.test.klab:sysfs-a';
const IQN_B = 'iqn.2026-11.test.klab:sysfs-b';
const INITIATOR = 'iqn.1993-08.org.debian:01:bfbcfd5dc67a';
const MiB = 1024 * 1024;

/** "name -> ../../sdX" lines of the captured /dev/disk/by-path. */
function byPathLinks(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(dir, 'by-path.links'), 'utf8').split('\n')) {
    const m = /^(\S+) -> \.\.\/\.\.\/(\S+)$/.exec(line);
    if (m) out.set(`/dev/disk/by-path/${m[1]}`, `/dev/${m[2]}`);
  }
  return out;
}

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sysfs-test-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

let seq = 0;
/** A private copy of a fixture tree (symlinks kept) to modify. */
async function copyFixture(src: string): Promise<string> {
  const dst = path.join(tmp, `copy-${++seq}`);
  await fsp.cp(src, dst, { recursive: true, verbatimSymlinks: true });
  return dst;
}

interface LunSpec {
  t?: number;
  lun: number;
  dev?: string | null;
  sectors?: string;
  type?: string;
}
interface SessionSpec {
  sid: number;
  host: number;
  target?: string;
  tpgt?: string;
  iface?: string | null;
  state?: string;
  initiator?: string;
  pAddr?: string | null;
  pPort?: string | null;
  addr?: string;
  port?: string;
  luns?: LunSpec[];
}

/** Writes one session the way the 6.1 kernel lays it out (see the captures). */
async function makeSession(root: string, s: SessionSpec): Promise<void> {
  const w = async (file: string, text: string): Promise<void> => {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, text);
  };
  const ln = async (target: string, link: string): Promise<void> => {
    await fsp.mkdir(path.dirname(link), { recursive: true });
    await fsp.symlink(target, link);
  };
  const hostDir = path.join(root, `sys/devices/platform/host${s.host}`);
  const sessDev = path.join(hostDir, `session${s.sid}`);
  const sessAttr = path.join(sessDev, `iscsi_session/session${s.sid}`);
  await w(path.join(sessAttr, 'targetname'), `${s.target ?? IQN_A}\n`);
  await w(path.join(sessAttr, 'tpgt'), `${s.tpgt ?? '1'}\n`);
  if (s.iface !== null) await w(path.join(sessAttr, 'ifacename'), `${s.iface ?? 'default'}\n`);
  await w(path.join(sessAttr, 'state'), `${s.state ?? 'LOGGED_IN'}\n`);
  await w(path.join(sessAttr, 'initiatorname'), `${s.initiator ?? INITIATOR}\n`);
  await ln('../../../session' + s.sid, path.join(sessAttr, 'device'));
  await ln(`../../devices/platform/host${s.host}/session${s.sid}/iscsi_session/session${s.sid}`, path.join(root, 'sys/class/iscsi_session', `session${s.sid}`));
  const connAttr = path.join(sessDev, `connection${s.sid}:0/iscsi_connection/connection${s.sid}:0`);
  if (s.pAddr !== null) await w(path.join(connAttr, 'persistent_address'), `${s.pAddr ?? '10.0.2.2'}\n`);
  if (s.pPort !== null) await w(path.join(connAttr, 'persistent_port'), `${s.pPort ?? '3260'}\n`);
  if (s.addr !== undefined) await w(path.join(connAttr, 'address'), `${s.addr}\n`);
  if (s.port !== undefined) await w(path.join(connAttr, 'port'), `${s.port}\n`);
  await ln(`../../devices/platform/host${s.host}/session${s.sid}/connection${s.sid}:0/iscsi_connection/connection${s.sid}:0`, path.join(root, 'sys/class/iscsi_connection', `connection${s.sid}:0`));
  for (const l of s.luns ?? []) {
    const t = l.t ?? 0;
    const hctl = `${s.host}:0:${t}:${l.lun}`;
    const lunDir = path.join(sessDev, `target${s.host}:0:${t}`, hctl);
    await w(path.join(lunDir, 'type'), `${l.type ?? '0'}\n`);
    if (l.dev) {
      await w(path.join(lunDir, 'block', l.dev, 'size'), `${l.sectors ?? '2048'}\n`);
      await ln(`../devices/platform/host${s.host}/session${s.sid}/target${s.host}:0:${t}/${hctl}/block/${l.dev}`, path.join(root, 'sys/block', l.dev));
    }
  }
}

async function newRoot(): Promise<string> {
  const root = path.join(tmp, `root-${++seq}`);
  await fsp.mkdir(path.join(root, 'sys/class/iscsi_session'), { recursive: true });
  return root;
}

describe('captured tree: two sessions logged in (kernel 6.1, open-iscsi 2.1.8, tgtd)', () => {
  let sessions: KernelSession[];
  beforeAll(async () => {
    sessions = await readSessions({ root: LOGGED_IN });
  });

  test('exact sessions and disks', () => {
    expect(PORT).toBe(42613);
    expect(sessions).toEqual([
      {
        sid: 1,
        target: IQN_A,
        address: '10.0.2.2',
        port: PORT,
        tpgt: 1,
        iface: 'default',
        state: 'LOGGED_IN',
        host: 0,
        initiatorName: INITIATOR,
        disks: [
          { lun: 1, hctl: '0:0:0:1', device: '/dev/sda', byPath: `/dev/disk/by-path/ip-10.0.2.2:${PORT}-iscsi-${IQN_A}-lun-1`, size: 16 * MiB },
          { lun: 2, hctl: '0:0:0:2', device: '/dev/sdb', byPath: `/dev/disk/by-path/ip-10.0.2.2:${PORT}-iscsi-${IQN_A}-lun-2`, size: 8 * MiB },
        ],
      },
      {
        sid: 2,
        target: IQN_B,
        address: '10.0.2.2',
        port: PORT,
        tpgt: 1,
        iface: 'default',
        state: 'LOGGED_IN',
        host: 1,
        initiatorName: INITIATOR,
        disks: [{ lun: 1, hctl: '1:0:0:1', device: '/dev/sdc', byPath: `/dev/disk/by-path/ip-10.0.2.2:${PORT}-iscsi-${IQN_B}-lun-1`, size: 4 * MiB }],
      },
    ]);
  });

  test('byPath equals the links udev made, each pointing at the same device', () => {
    const links = byPathLinks(LOGGED_IN);
    expect(links.size).toBe(3);
    const ours = new Map(sessions.flatMap((s) => s.disks.map((d) => [d.byPath, d.device] as const)));
    expect(ours).toEqual(links);
  });

  test("tgtd's controller LUN 0 (peripheral type 12) is not a disk", async () => {
    const type = await fsp.readFile(path.join(LOGGED_IN, 'sys/bus/scsi/devices/0:0:0:0/type'), 'utf8');
    expect(type.trim()).toBe('12');
    expect(sessions[0].disks.map((d) => d.lun)).toEqual([1, 2]);
  });

  test('readSession and findSessions', async () => {
    expect(await readSession(2, { root: LOGGED_IN })).toEqual(sessions[1]);
    expect(await readSession(3, { root: LOGGED_IN })).toBeNull();
    expect((await findSessions({ target: IQN_A }, { root: LOGGED_IN })).map((s) => s.sid)).toEqual([1]);
    expect(
      (await findSessions({ target: IQN_B, address: '10.0.2.2', port: PORT, tpgt: 1, iface: 'default' }, { root: LOGGED_IN })).map((s) => s.sid),
    ).toEqual([2]);
    expect(await findSessions({ target: IQN_B, port: PORT + 1 }, { root: LOGGED_IN })).toEqual([]);
    expect(await findSessions({ target: IQN_B, address: '10.0.2.3' }, { root: LOGGED_IN })).toEqual([]);
    expect(await findSessions({ target: IQN_B, tpgt: 2 }, { root: LOGGED_IN })).toEqual([]);
    expect(await findSessions({ target: IQN_B, iface: 'iser0' }, { root: LOGGED_IN })).toEqual([]);
    expect(await findSessions({ target: 'iqn.2026-11.test.klab:nope' }, { root: LOGGED_IN })).toEqual([]);
  });

  test('waitForSession returns at once for a ready session', async () => {
    const s = await waitForSession({ target: IQN_A, address: '10.0.2.2', port: PORT }, { root: LOGGED_IN, requireDisks: 2, pollMs: 10 });
    expect(s.sid).toBe(1);
  });
});

describe('captured tree: sessions FAILED (link down, iscsid reopening)', () => {
  test('state FAILED, portal from persistent_* (address/port are unreadable then), disks still there', async () => {
    // The kernel cannot show the socket's address while the connection is down.
    expect(fs.existsSync(path.join(FAILED, 'sys/class/iscsi_connection/connection1:0/address'))).toBe(false);
    const sessions = await readSessions({ root: FAILED });
    expect(sessions.map((s) => [s.sid, s.state, s.address, s.port, s.host])).toEqual([
      [1, 'FAILED', '10.0.2.2', PORT, 0],
      [2, 'FAILED', '10.0.2.2', PORT, 1],
    ]);
    expect(sessions.flatMap((s) => s.disks.map((d) => d.device))).toEqual(['/dev/sda', '/dev/sdb', '/dev/sdc']);
    expect(new Set(sessions.flatMap((s) => s.disks.map((d) => d.byPath)))).toEqual(new Set(byPathLinks(FAILED).keys()));
  });

  test('waitForSession times out naming the state', async () => {
    const t0 = Date.now();
    const err = await waitForSession({ target: IQN_A }, { root: FAILED, timeoutMs: 150, pollMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IscsiError);
    expect((err as IscsiError).code).toBe('ETIMEDOUT');
    expect((err as IscsiError).message).toMatch(/session 1 is FAILED, not LOGGED_IN/);
    expect((err as IscsiError).target).toBe(IQN_A);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('block device not registered yet', () => {
  test('device null, size null, byPath still known', async () => {
    const root = await copyFixture(LOGGED_IN);
    await fsp.rm(path.join(root, 'sys/devices/platform/host0/session1/target0:0:0/0:0:0:2/block'), { recursive: true });
    await fsp.rm(path.join(root, 'sys/block/sdb'));
    const s = await readSession(1, { root });
    expect(s?.disks).toEqual([
      { lun: 1, hctl: '0:0:0:1', device: '/dev/sda', byPath: `/dev/disk/by-path/ip-10.0.2.2:${PORT}-iscsi-${IQN_A}-lun-1`, size: 16 * MiB },
      { lun: 2, hctl: '0:0:0:2', device: null, byPath: `/dev/disk/by-path/ip-10.0.2.2:${PORT}-iscsi-${IQN_A}-lun-2`, size: null },
    ]);
  });

  test('old kernels: a block:sdX link in the LUN directory', async () => {
    const root = await copyFixture(LOGGED_IN);
    const lunDir = path.join(root, 'sys/devices/platform/host1/session2/target1:0:0/1:0:0:1');
    await fsp.rename(path.join(lunDir, 'block'), path.join(root, 'moved-block'));
    await fsp.symlink('../../../../../../block/sdc', path.join(lunDir, 'block:sdc'));
    const s = await readSession(2, { root });
    expect(s?.disks).toEqual([
      { lun: 1, hctl: '1:0:0:1', device: '/dev/sdc', byPath: `/dev/disk/by-path/ip-10.0.2.2:${PORT}-iscsi-${IQN_B}-lun-1`, size: null },
    ]);
  });

  test('waitForSession succeeds once the tree is completed while it polls', async () => {
    const root = await copyFixture(LOGGED_IN);
    const blockDir = path.join(root, 'sys/devices/platform/host0/session1/target0:0:0/0:0:0:2/block');
    await fsp.rename(blockDir, path.join(root, 'held-back'));
    const state = path.join(root, 'sys/devices/platform/host0/session1/iscsi_session/session1/state');
    await fsp.writeFile(state, 'FREE\n');
    const t0 = Date.now();
    const p = waitForSession({ target: IQN_A, address: '10.0.2.2', port: PORT }, { root, requireDisks: 2, pollMs: 15, timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 80));
    await fsp.writeFile(state, 'LOGGED_IN\n');
    await new Promise((r) => setTimeout(r, 80));
    await fsp.rename(path.join(root, 'held-back'), blockDir);
    const s = await p;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(s.disks.map((d) => d.device)).toEqual(['/dev/sda', '/dev/sdb']);
  });

  test('waitForSession names the missing disks on timeout', async () => {
    const root = await copyFixture(LOGGED_IN);
    await fsp.rm(path.join(root, 'sys/devices/platform/host0/session1/target0:0:0/0:0:0:2/block'), { recursive: true });
    const err = await waitForSession({ target: IQN_A }, { root, requireDisks: 2, timeoutMs: 60, pollMs: 10 }).catch((e: unknown) => e);
    expect((err as IscsiError).code).toBe('ETIMEDOUT');
    expect((err as IscsiError).message).toMatch(/session 1 has 1 of 2 disks with a block device/);
    const none = await waitForSession({ target: 'iqn.2026-11.test.klab:absent', address: 'fd00::1', port: 3260 }, { root, timeoutMs: 40, pollMs: 10 }).catch((e: unknown) => e);
    expect((none as IscsiError).code).toBe('ETIMEDOUT');
    expect((none as IscsiError).message).toMatch(/no session to iqn\.2026-11\.test\.klab:absent at \[fd00::1\]:3260/);
    expect((none as IscsiError).portal).toBe('[fd00::1]:3260');
  });
});

describe('hand-made trees', () => {
  test('IPv6 portal: by-path uses the address verbatim, as udev path_id does', async () => {
    const root = await newRoot();
    await makeSession(root, { sid: 7, host: 5, pAddr: 'fd00:2::10', pPort: '3261', addr: 'fd00:0002:0000:0000:0000:0000:0000:0010', port: '3261', luns: [{ lun: 0, dev: 'sdd', sectors: '8' }] });
    const [s] = await readSessions({ root });
    expect(s).toMatchObject({ sid: 7, host: 5, address: 'fd00:2::10', port: 3261 });
    expect(s.disks).toEqual([{ lun: 0, hctl: '5:0:0:0', device: '/dev/sdd', byPath: `/dev/disk/by-path/ip-fd00:2::10:3261-iscsi-${IQN_A}-lun-0`, size: 4096 }]);
    // Any spelling of the same address matches.
    for (const address of ['fd00:2::10', '[fd00:2::10]', 'FD00:0002:0:0:0:0:0:0010']) {
      expect((await findSessions({ target: IQN_A, address }, { root })).map((x) => x.sid)).toEqual([7]);
    }
    expect(await findSessions({ target: IQN_A, address: 'fd00:2::11' }, { root })).toEqual([]);
  });

  test('persistent_* missing: falls back to address/port; ifacename missing: "default"', async () => {
    const root = await newRoot();
    await makeSession(root, { sid: 3, host: 2, pAddr: null, pPort: '0', addr: '192.0.2.9', port: '3260', iface: null });
    const s = await readSession(3, { root });
    expect(s).toMatchObject({ address: '192.0.2.9', port: 3260, iface: 'default' });
  });

  test('LUN numbers >= 256 use path_id’s 8-byte form', () => {
    expect(formatLun(0)).toBe('lun-0');
    expect(formatLun(255)).toBe('lun-255');
    expect(formatLun(256)).toBe('lun-0x0100000000000000');
    expect(formatLun(0x4001)).toBe('lun-0x4001000000000000');
    expect(formatLun(0x12345678)).toBe('lun-0x5678123400000000');
    expect(byPathName('10.0.0.1', 3260, 'iqn.x:y', 1)).toBe('/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.x:y-lun-1');
  });

  test('sessions are sorted by number, not by name', async () => {
    const root = await newRoot();
    for (const sid of [10, 2, 1]) await makeSession(root, { sid, host: sid + 1 });
    expect((await readSessions({ root })).map((s) => s.sid)).toEqual([1, 2, 10]);
  });

  test('no iscsi_session class (module not loaded) or missing root: no sessions', async () => {
    expect(await readSessions({ root: path.join(tmp, 'does-not-exist') })).toEqual([]);
    const root = path.join(tmp, `empty-${++seq}`);
    await fsp.mkdir(path.join(root, 'sys'), { recursive: true });
    expect(await readSessions({ root })).toEqual([]);
    expect(await readSession(1, { root })).toBeNull();
  });

  test('a session still being set up ("(null)" target or no connection) is skipped', async () => {
    const root = await newRoot();
    await makeSession(root, { sid: 1, host: 1, target: '(null)' });
    await makeSession(root, { sid: 2, host: 2, pAddr: '(null)', pPort: '0' });
    await makeSession(root, { sid: 3, host: 3 });
    await fsp.rm(path.join(root, 'sys/class/iscsi_connection/connection3:0'));
    await makeSession(root, { sid: 4, host: 4 });
    expect((await readSessions({ root })).map((s) => s.sid)).toEqual([4]);
    expect(await readSession(1, { root })).toBeNull();
  });

  test('a session vanishing between listing and reading is skipped, not an error', async () => {
    const root = await newRoot();
    await makeSession(root, { sid: 1, host: 1 });
    // Dangling class link: the device was removed after readdir saw it.
    await fsp.symlink('../../devices/platform/host9/session9/iscsi_session/session9', path.join(root, 'sys/class/iscsi_session/session9'));
    expect((await readSessions({ root })).map((s) => s.sid)).toEqual([1]);
  });

  test('broken or missing optional files: null / -1 / "UNKNOWN", never a throw', async () => {
    const root = await newRoot();
    await makeSession(root, {
      sid: 1,
      host: 1,
      tpgt: 'one',
      state: 'logged in!',
      initiator: 'has space',
      luns: [
        { lun: 1, dev: 'sda', sectors: '12abc' },
        { lun: 2, dev: 'sdb', sectors: '-' },
        { lun: 3, dev: 'sdc', sectors: '99999999999999999999' },
      ],
    });
    const s = await readSession(1, { root });
    expect(s).toMatchObject({ tpgt: -1, state: 'UNKNOWN', initiatorName: null, host: 1 });
    expect(s?.disks.map((d) => d.size)).toEqual([null, null, null]);
    // The session's parent is not named hostH: the number comes from targetH:C:T.
    const platform = path.join(root, 'sys/devices/platform');
    await fsp.rename(path.join(platform, 'host1'), path.join(platform, 'hba1'));
    await fsp.symlink('hba1', path.join(platform, 'host1'));
    expect(await readSession(1, { root })).toMatchObject({ host: 1, disks: [{ lun: 1 }, { lun: 2 }, { lun: 3 }] });
    // The device link is broken: no host, no disks, the session itself still listed.
    const link = path.join(root, 'sys/devices/platform/hba1/session1/iscsi_session/session1/device');
    await fsp.rm(link);
    await fsp.symlink('../../../nowhere', link);
    const s2 = await readSession(1, { root });
    expect(s2).toMatchObject({ host: null, disks: [] });
  });

  test('hostile content: huge, binary, directory, FIFO attributes', async () => {
    const root = await newRoot();
    await makeSession(root, { sid: 1, host: 1, luns: [{ lun: 1, dev: 'sda' }] });
    const attr = path.join(root, 'sys/devices/platform/host1/session1/iscsi_session/session1');
    // Over one page: not sysfs, ignored.
    await fsp.writeFile(path.join(attr, 'initiatorname'), 'i'.repeat(64 * 1024));
    await fsp.writeFile(path.join(attr, 'tpgt'), Buffer.from([0x31, 0x00, 0x32, 0x0a]));
    await fsp.rm(path.join(attr, 'state'));
    await fsp.mkdir(path.join(attr, 'state'));
    const fifo = path.join(attr, 'ifacename');
    await fsp.rm(fifo);
    const { execFileSync } = await import('child_process');
    execFileSync('mkfifo', [fifo]);
    const huge = path.join(root, 'sys/devices/platform/host1/session1/target1:0:0/1:0:0:1/block/sda/size');
    await fsp.writeFile(huge, '7'.repeat(5000));
    const s = await readSession(1, { root, timeoutMs: 5000 });
    expect(s).toMatchObject({ sid: 1, initiatorName: null, tpgt: -1, state: 'UNKNOWN', iface: 'default' });
    expect(s?.disks).toEqual([expect.objectContaining({ device: '/dev/sda', size: null })]);

    // A huge or binary target name makes the session unusable: skipped.
    await fsp.writeFile(path.join(attr, 'targetname'), 'x'.repeat(10 * 1024 * 1024));
    expect(await readSessions({ root })).toEqual([]);
    await fsp.writeFile(path.join(attr, 'targetname'), Buffer.from([0xff, 0xfe, 0x0a]));
    expect(await readSessions({ root })).toEqual([]);
    await fsp.writeFile(path.join(attr, 'targetname'), 'iqn.a:b\nsecond-line\n');
    expect(await readSessions({ root })).toEqual([]);
  });

  test('hostile names in the tree are ignored', async () => {
    const root = await newRoot();
    await makeSession(root, { sid: 1, host: 1, luns: [{ lun: 1, dev: 'sda' }] });
    await fsp.writeFile(path.join(root, 'sys/class/iscsi_session/session99999999999999'), '');
    await fsp.writeFile(path.join(root, 'sys/class/iscsi_session/sessionX'), '');
    const sess = path.join(root, 'sys/devices/platform/host1/session1');
    await fsp.mkdir(path.join(sess, 'target1:0:0/1:0:0:99999999999999999999'), { recursive: true });
    await fsp.mkdir(path.join(sess, 'target1:0:0/not-a-lun'), { recursive: true });
    await fsp.mkdir(path.join(sess, 'targetX'), { recursive: true });
    const s = await readSessions({ root });
    expect(s.map((x) => x.disks.map((d) => d.hctl))).toEqual([['1:0:0:1']]);
  });

  test('an unreadable class directory is ISCSI_PERMISSION_DENIED', async () => {
    if (process.getuid?.() === 0) {
      // root ignores mode bits; simulate with a non-directory instead: ENOTDIR is "no sessions".
      const root = path.join(tmp, `notdir-${++seq}`);
      await fsp.mkdir(path.join(root, 'sys/class'), { recursive: true });
      await fsp.writeFile(path.join(root, 'sys/class/iscsi_session'), '');
      expect(await readSessions({ root })).toEqual([]);
      return;
    }
    const root = await newRoot();
    await fsp.chmod(path.join(root, 'sys/class/iscsi_session'), 0);
    await expect(readSessions({ root })).rejects.toMatchObject({ code: 'ISCSI_PERMISSION_DENIED' });
    await fsp.chmod(path.join(root, 'sys/class/iscsi_session'), 0o755);
  });
});

describe('waitForSession: abort, timers, arguments', () => {
  test('already aborted: ABORT_ERR without reading', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(waitForSession({ target: IQN_A }, { root: LOGGED_IN, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });

  test('aborted while polling: ABORT_ERR promptly', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = waitForSession({ target: IQN_A }, { root: FAILED, signal: ac.signal, pollMs: 20, timeoutMs: 60_000 });
    setTimeout(() => ac.abort(), 60);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IscsiError);
    expect((err as IscsiError).code).toBe('ABORT_ERR');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test('no timer is left behind after abort, timeout or success', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const ac = new AbortController();
      const aborted = waitForSession({ target: IQN_A }, { root: FAILED, signal: ac.signal, pollMs: 5, timeoutMs: 60_000 }).catch((e: unknown) => e);
      expect(jest.getTimerCount()).toBeGreaterThanOrEqual(1);
      ac.abort();
      expect(((await aborted) as IscsiError).code).toBe('ABORT_ERR');
      expect(jest.getTimerCount()).toBe(0);

      const timedOut = waitForSession({ target: IQN_A }, { root: FAILED, pollMs: 5, timeoutMs: 50 }).catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(60);
      expect(((await timedOut) as IscsiError).code).toBe('ETIMEDOUT');
      expect(jest.getTimerCount()).toBe(0);

      const ok = await waitForSession({ target: IQN_B }, { root: LOGGED_IN, requireDisks: true });
      expect(ok.sid).toBe(2);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  test('default timeout is 30 s (observed through a fake clock)', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const p = waitForSession({ target: IQN_A }, { root: FAILED, pollMs: 10_000 });
      const caught = p.catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(29_999);
      let done = false;
      void caught.then(() => (done = true));
      await Promise.resolve();
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(2);
      const err = (await caught) as IscsiError;
      expect(err.code).toBe('ETIMEDOUT');
      expect(err.message).toMatch(/after 30000 ms/);
    } finally {
      jest.useRealTimers();
    }
  });

  test('invalid arguments are ERR_INVALID_ARG_VALUE', async () => {
    const bad: Array<[unknown, unknown]> = [
      [undefined, {}],
      [{ target: '' }, {}],
      [{ target: IQN_A, port: 0 }, {}],
      [{ target: IQN_A, port: 3260.5 }, {}],
      [{ target: IQN_A, tpgt: -2 }, {}],
      [{ target: IQN_A, address: 5 }, {}],
      [{ target: IQN_A, iface: '' }, {}],
      [{ target: IQN_A }, { requireDisks: -1 }],
      [{ target: IQN_A }, { requireDisks: 'yes' }],
      [{ target: IQN_A }, { pollMs: 0 }],
      [{ target: IQN_A }, { timeoutMs: -5 }],
      [{ target: IQN_A }, { root: '' }],
      [{ target: IQN_A }, { signal: {} }],
      [{ target: IQN_A }, null],
    ];
    for (const [m, o] of bad) {
      await expect(waitForSession(m as never, o as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
    await expect(findSessions({ target: '' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    for (const sid of [-1, 1.5, NaN, '1']) {
      await expect(readSession(sid as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
    await expect(readSessions({ root: 7 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  test('readSessions honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(readSessions({ root: LOGGED_IN, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});
