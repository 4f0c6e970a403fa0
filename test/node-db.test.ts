/**
 * open-iscsi node DB: record format, file layout, locking, atomicity,
 * secrets, and round trips with Debian 12's real iscsiadm (open-iscsi
 * 2.1.8), run only inside a private mount+net namespace so the host's
 * /etc/iscsi is never touched (see iscsiadm() below).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import {
  NODE_KEYS,
  OPEN_ISCSI_NODE_DEFAULTS,
  formatNodeRecord,
  isSecretKey,
  parseNodeRecord,
  redactRecord,
  type NodeRecord,
} from '../lib/kernel/node-record';
import { buildNodeRecord, findDbRoot, nodes } from '../lib/kernel/node-db';
import { LOCK_DIR, _setBeforeRenameHook } from '../lib/kernel/db-lock';
import { IscsiError } from '../lib/errors';

const FIX = path.join(__dirname, 'fixtures', 'node-db');
const fixture = (n: string): string => fs.readFileSync(path.join(FIX, n), 'utf8');

const T1 = 'iqn.2024-01.test:tgt1';
const SECRET = 'Sup3r-Secret_Value';
const SECRET_IN = 'Target-Secret_99';

let tmpRoots: string[] = [];
function mkroot(): string {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'nodedb-'));
  tmpRoots.push(r);
  return r;
}
afterAll(() => {
  for (const r of tmpRoots) fs.rmSync(r, { recursive: true, force: true });
  tmpRoots = [];
});

async function rejectsWith(p: Promise<unknown>, code: string): Promise<IscsiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IscsiError);
    expect((e as IscsiError).code).toBe(code);
    return e as IscsiError;
  }
  throw new Error(`expected rejection with ${code}`);
}

function throwsWith(fn: () => unknown, code: string): IscsiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IscsiError);
    expect((e as IscsiError).code).toBe(code);
    return e as IscsiError;
  }
  throw new Error(`expected throw with ${code}`);
}

// ------------------------------------------------------------------ iscsiadm

/**
 * Runs `script` (sh) with Debian's iscsiadm in a private mount+net
 * namespace: <root>/etc/iscsi is bind-mounted on /etc/iscsi, /run/lock is
 * a fresh tmpfs, and no iscsid is reachable (its abstract socket lives in
 * the host's net namespace). Fails loudly when the tools are missing.
 */
function iscsiadm(root: string, script: string): { stdout: string; stderr: string; status: number } {
  fs.mkdirSync(path.join(root, 'etc/iscsi'), { recursive: true });
  const r = spawnSync(
    'unshare',
    [
      '--mount',
      '--net',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$R/etc/iscsi" /etc/iscsi && mount -t tmpfs none /run/lock && sh -c "$S"',
    ],
    { env: { ...process.env, R: root, S: script }, encoding: 'utf8', timeout: 60_000 },
  );
  if (r.error) throw new Error(`could not run unshare/iscsiadm (needs root, util-linux unshare, open-iscsi): ${r.error.message}`);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

/** "key = value" lines of `iscsiadm -m node -T .. -p .. -S` ("<empty>" = ''). */
function parseIscsiadmPrint(out: string): NodeRecord {
  const rec: NodeRecord = {};
  for (const line of out.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line);
    if (m) rec[m[1]] = m[2] === '<empty>' ? '' : m[2];
  }
  return rec;
}

describe('prerequisites for the iscsiadm round trips', () => {
  it('has root, unshare and Debian iscsiadm 2.1.8', () => {
    expect(process.getuid?.()).toBe(0);
    const v = spawnSync('iscsiadm', ['--version'], { encoding: 'utf8' });
    if (v.error) throw new Error(`iscsiadm is not installed (apt-get install open-iscsi): ${v.error.message}`);
    expect(v.stdout.trim()).toBe('iscsiadm version 2.1.8');
    const u = spawnSync('unshare', ['--version'], { encoding: 'utf8' });
    if (u.error) throw new Error(`unshare is missing: ${u.error.message}`);
  });
});

// ------------------------------------------------------------------ format

describe('node record format', () => {
  it('NODE_KEYS has the 2.1.8 key set in iscsiadm order', () => {
    expect(NODE_KEYS.length).toBe(122); // 107 printed for an IPv4 iface + 15 IPv6-only iface keys
    expect(NODE_KEYS.slice(0, 4)).toEqual(['node.name', 'node.tpgt', 'node.startup', 'node.leading_login']);
    expect(NODE_KEYS[NODE_KEYS.length - 1]).toBe('node.conn[0].iscsi.OFMarker');
    expect(new Set(NODE_KEYS).size).toBe(NODE_KEYS.length);
    // Every key iscsiadm wrote in the fixtures is known, in the same relative order.
    for (const f of ['oldstyle-default.rec', 'newstyle-chap.rec', 'ipv6.rec']) {
      const keys = fixture(f).split('\n').filter((l) => l.includes(' = ')).map((l) => l.split(' = ')[0]);
      const idx = keys.map((k) => NODE_KEYS.indexOf(k));
      expect(idx.every((i) => i >= 0)).toBe(true);
      expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    }
  });

  it('defaults + identity format byte-identically to iscsiadm -o new (no iscsid.conf)', () => {
    const rec = { ...OPEN_ISCSI_NODE_DEFAULTS, 'node.name': 'iqn.2024-01.test:old', 'node.conn[0].address': '127.0.0.1' };
    expect(formatNodeRecord(rec)).toBe(fixture('oldstyle-default.rec'));
    expect(Object.keys(OPEN_ISCSI_NODE_DEFAULTS).length).toBe(63);
  });

  it.each(['oldstyle-default.rec', 'newstyle-chap.rec', 'ipv6.rec'])('parse → format of %s is byte-identical', (f) => {
    expect(formatNodeRecord(parseNodeRecord(fixture(f)))).toBe(fixture(f));
  });

  it('reads every value iscsiadm -o update wrote', () => {
    const r = parseNodeRecord(fixture('newstyle-chap.rec'));
    expect(r['node.name']).toBe(T1);
    expect(r['node.tpgt']).toBe('1');
    expect(r['node.startup']).toBe('automatic');
    expect(r['node.session.auth.authmethod']).toBe('CHAP');
    expect(r['node.session.auth.username']).toBe('joe');
    expect(r['node.session.auth.password']).toBe('pa ss#1');
    expect(r['node.session.auth.username_in']).toBe('tgtuser');
    expect(r['node.session.auth.password_in']).toBe('tgtsecret12');
    expect(r['node.session.auth.chap_algs']).toBe('SHA256,MD5');
    expect(r['node.conn[0].iscsi.HeaderDigest']).toBe('CRC32C,None');
    expect(r['node.conn[0].iscsi.DataDigest']).toBe('None');
    expect(r['node.conn[0].timeo.login_timeout']).toBe('15');
    expect(r['node.session.timeo.replacement_timeout']).toBe('5');
    expect(r['node.session.scan']).toBe('manual');
    expect(r['node.conn[0].address']).toBe('192.0.2.10');
    expect(r['iface.iscsi_ifacename']).toBe('default');
    expect(r['iface.initiatorname']).toBeUndefined(); // empty → not written
    const v6 = parseNodeRecord(fixture('ipv6.rec'));
    expect(v6['node.conn[0].address']).toBe('fd00::10');
    expect(v6['node.conn[0].port']).toBe('3261');
  });

  it('parser: comments, blank lines, CRLF-free spacing, unknown keys kept; duplicate: last wins', () => {
    const r = parseNodeRecord('# c\n\n  node.name=iqn.2024-01.a:b  \nnode.future.key = x y\nnode.tpgt = 1\nnode.tpgt = 2\nnode.startup =\n');
    expect({ ...r }).toEqual({ 'node.name': 'iqn.2024-01.a:b', 'node.future.key': 'x y', 'node.tpgt': '2' });
    // Unknown keys are not written back (libopeniscsiusr rejects them).
    expect(formatNodeRecord(r)).not.toContain('future');
  });

  it.each([
    ['no separator', 'node.name = a\njust garbage\n', 'line 2'],
    ['bad key', 'node.name = a\nno de = x\n', 'line 2'],
    ['weird key chars', 'node.n$me = x\n', 'line 1'],
    ['NUL', 'node.name = a\u0000b\n', 'line 1'],
    ['long line', `node.name = ${'a'.repeat(3000)}\n`, 'line 1'],
    ['proto key', '__proto__ = x\n', 'line 1'],
  ])('parser rejects %s with ISCSI_NODE_DB_ERROR naming the line', (_n, text, where) => {
    const e = throwsWith(() => parseNodeRecord(text as string), 'ISCSI_NODE_DB_ERROR');
    expect(e.message).toContain(where as string);
  });

  it('parser bounds input size and never echoes values', () => {
    throwsWith(() => parseNodeRecord('#'.repeat(300 * 1024)), 'ISCSI_NODE_DB_ERROR');
    const e = throwsWith(() => parseNodeRecord(`node.session.auth.password = ${SECRET}\n!!${SECRET}\n`), 'ISCSI_NODE_DB_ERROR');
    expect(e.message).not.toContain(SECRET);
  });

  it('format refuses values that would not survive a re-read', () => {
    const base = { ...OPEN_ISCSI_NODE_DEFAULTS, 'node.name': T1, 'node.conn[0].address': '192.0.2.1' };
    throwsWith(() => formatNodeRecord({ ...base, 'node.session.auth.username': 'a\nnode.startup = automatic' }), 'ERR_INVALID_ARG_VALUE');
    throwsWith(() => formatNodeRecord({ ...base, 'node.startup': 'sometimes' }), 'ERR_INVALID_ARG_VALUE');
    throwsWith(() => formatNodeRecord({ ...base, 'node.session.auth.chap_algs': 'MD5,MD4' }), 'ERR_INVALID_ARG_VALUE');
    throwsWith(() => formatNodeRecord({ ...base, 'iface.vlan_id': '70000' }), 'ERR_INVALID_ARG_VALUE');
    const e = throwsWith(() => formatNodeRecord({ ...base, 'node.session.auth.password': ` ${SECRET}` }), 'ERR_INVALID_ARG_VALUE');
    expect(e.message).not.toContain(SECRET);
  });

  it('secrets: isSecretKey, redactRecord, inspect/JSON of parsed records', () => {
    expect(isSecretKey('node.session.auth.password')).toBe(true);
    expect(isSecretKey('node.session.auth.password_in')).toBe(true);
    expect(isSecretKey('discovery.sendtargets.auth.password')).toBe(true);
    expect(isSecretKey('node.session.auth.username')).toBe(false);
    expect(isSecretKey('node.session.auth.password_length')).toBe(false);
    const r = parseNodeRecord(fixture('newstyle-chap.rec'));
    expect(redactRecord(r)['node.session.auth.password']).toBe('********');
    expect(inspect(r)).not.toContain('pa ss#1');
    expect(inspect(r)).not.toContain('tgtsecret12');
    expect(inspect(r)).toContain('joe');
    expect(JSON.stringify(r)).not.toContain('tgtsecret12');
    expect(JSON.parse(JSON.stringify(r))['node.session.auth.password']).toBe('********');
    expect(r['node.session.auth.password']).toBe('pa ss#1');
    expect(Object.keys(r)).not.toContain('toJSON');
  });
});

// ------------------------------------------------------------------ DB

function etc(root: string, ...p: string[]): string {
  return path.join(root, 'etc/iscsi', ...p);
}
function mode(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

describe('node DB layout and operations', () => {
  it('findDbRoot: nodes/ wins, then send_targets/, then an existing /var/lib/iscsi, else /etc/iscsi', async () => {
    const r = mkroot();
    expect(await findDbRoot(r)).toBe(etc(r));
    fs.mkdirSync(path.join(r, 'var/lib/iscsi'), { recursive: true });
    expect(await findDbRoot(r)).toBe(path.join(r, 'var/lib/iscsi'));
    fs.mkdirSync(etc(r, 'send_targets'), { recursive: true });
    expect(await findDbRoot(r)).toBe(etc(r));
    fs.mkdirSync(path.join(r, 'var/lib/iscsi/nodes'), { recursive: true });
    expect(await findDbRoot(r)).toBe(path.join(r, 'var/lib/iscsi'));
    fs.mkdirSync(etc(r, 'nodes'), { recursive: true });
    expect(await findDbRoot(r)).toBe(etc(r));
  });

  it('save creates a new-style record with iscsid.conf defaults, modes 0600/0700 and the static link', async () => {
    const r = mkroot();
    fs.mkdirSync(etc(r), { recursive: true });
    fs.copyFileSync(path.join(FIX, 'debian12-iscsid.conf'), etc(r, 'iscsid.conf'));
    const node = { target: T1, address: '192.0.2.10', port: 3260, tpgt: 1 };
    await nodes.save(node, { root: r, auth: { username: 'joe', password: SECRET } });
    const file = etc(r, 'nodes', T1, '192.0.2.10,3260,1', 'default');
    expect(mode(file)).toBe(0o600);
    expect(mode(etc(r, 'nodes'))).toBe(0o700);
    expect(mode(etc(r, 'nodes', T1))).toBe(0o700);
    expect(mode(etc(r, 'nodes', T1, '192.0.2.10,3260,1'))).toBe(0o700);
    const rec = parseNodeRecord(fs.readFileSync(file, 'utf8'));
    expect(rec['node.conn[0].timeo.login_timeout']).toBe('15'); // Debian iscsid.conf, not the built-in 30
    expect(rec['node.session.initial_login_retry_max']).toBe('8');
    expect(rec['node.session.auth.authmethod']).toBe('CHAP');
    expect(rec['node.session.auth.password']).toBe(SECRET);
    expect(fs.readlinkSync(etc(r, 'static', `${T1},192.0.2.10,3260,1,default`))).toBe(`/etc/iscsi/nodes/${T1}/192.0.2.10,3260,1`);
    expect(fs.readdirSync(etc(r, 'nodes', T1, '192.0.2.10,3260,1'))).toEqual(['default']); // no temp files
    expect(await nodes.list({ root: r })).toEqual([{ target: T1, address: '192.0.2.10', port: 3260, tpgt: 1, iface: 'default' }]);
  });

  it('rediscovery-style save keeps stored CHAP; explicit auth / keepExistingAuth:false replace it', async () => {
    const r = mkroot();
    const node = { target: T1, address: '192.0.2.10', tpgt: 1 };
    await nodes.save(node, { root: r, auth: { username: 'joe', password: SECRET, reverseUsername: 'tgt', reversePassword: SECRET_IN } });
    // A discovery tool saving a full default record (authmethod None, no credentials):
    await nodes.save(node, { root: r, record: { ...OPEN_ISCSI_NODE_DEFAULTS, 'node.startup': 'automatic' } });
    expect(await nodes.getAuth(node, { root: r })).toEqual({ username: 'joe', password: SECRET, reverseUsername: 'tgt', reversePassword: SECRET_IN });
    expect(await nodes.getParameter(node, 'node.startup', { root: r })).toBe('automatic');
    await nodes.save(node, { root: r, auth: { username: 'ann', password: 'other-secret1' } });
    expect(await nodes.getAuth(node, { root: r })).toEqual({ username: 'ann', password: 'other-secret1' });
    await nodes.save(node, { root: r, keepExistingAuth: false, record: { 'node.session.auth.authmethod': 'None', 'node.session.auth.username': '', 'node.session.auth.password': '' } });
    expect(await nodes.getAuth(node, { root: r })).toBeNull();
  });

  it('old style: tpgt-less save writes <ip>,<port>; a later save with tpgt converts it', async () => {
    const r = mkroot();
    const node = { target: T1, address: '192.0.2.10' };
    await nodes.save(node, { root: r, record: { 'node.startup': 'automatic' } });
    const old = etc(r, 'nodes', T1, '192.0.2.10,3260');
    expect(fs.statSync(old).isFile()).toBe(true);
    expect(await nodes.list({ root: r })).toEqual([{ target: T1, address: '192.0.2.10', port: 3260, tpgt: -1, iface: 'default' }]);
    // Like idbm_rec_read(), a lookup with a tpgt finds the old-style file first.
    expect((await nodes.get({ ...node, tpgt: 3 }, { root: r }))['node.tpgt']).toBe('-1');
    await nodes.save({ ...node, tpgt: 3 }, { root: r });
    expect(fs.existsSync(old)).toBe(false);
    const rec = await nodes.get({ ...node, tpgt: 3 }, { root: r });
    expect(rec['node.tpgt']).toBe('3');
    expect(rec['node.startup']).toBe('automatic'); // settings carried over
  });

  it('get/getParameter/setParameter/delete', async () => {
    const r = mkroot();
    const node = { target: T1, address: 'fd00::10', port: 3261, tpgt: 5 };
    await rejectsWith(nodes.get(node, { root: r }), 'ISCSI_NODE_NOT_FOUND');
    await nodes.save(node, { root: r });
    expect(fs.existsSync(etc(r, 'nodes', T1, 'fd00::10,3261,5', 'default'))).toBe(true);
    await nodes.setParameter(node, 'node.conn[0].iscsi.HeaderDigest', 'CRC32C,None', { root: r });
    expect(await nodes.getParameter(node, 'node.conn[0].iscsi.HeaderDigest', { root: r })).toBe('CRC32C,None');
    expect(await nodes.getParameter({ target: T1, address: '[fd00::10]', port: 3261 }, 'node.tpgt', { root: r })).toBe('5');
    await rejectsWith(nodes.setParameter(node, 'node.bogus', 'x', { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.setParameter(node, 'node.name', 'iqn.2024-01.x:y', { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.setParameter(node, 'node.startup', 'sometimes', { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.setParameter(node, 'node.startup', 'manual\nnode.x = y', { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.getParameter(node, 'node.bogus', { root: r }), 'ERR_INVALID_ARG_VALUE');
    await nodes.delete(node, { root: r });
    expect(fs.existsSync(etc(r, 'nodes', T1))).toBe(false);
    expect(fs.readdirSync(etc(r, 'static'))).toEqual([]);
    await rejectsWith(nodes.delete(node, { root: r }), 'ISCSI_NODE_NOT_FOUND');
  });

  it('reads iscsiadm-written old-style files from a fixture tree', async () => {
    const r = mkroot();
    fs.mkdirSync(etc(r, 'nodes', 'iqn.2024-01.test:old'), { recursive: true });
    fs.copyFileSync(path.join(FIX, 'oldstyle-default.rec'), etc(r, 'nodes', 'iqn.2024-01.test:old', '127.0.0.1,3260'));
    const rec = await nodes.get({ target: 'iqn.2024-01.test:old', address: '127.0.0.1' }, { root: r });
    expect({ ...rec }).toEqual({ ...OPEN_ISCSI_NODE_DEFAULTS, 'node.name': 'iqn.2024-01.test:old', 'node.conn[0].address': '127.0.0.1' });
  });

  it('setAuth/getAuth; secrets stay out of inspect, JSON and error messages', async () => {
    const r = mkroot();
    const node = { target: T1, address: '192.0.2.10', tpgt: 1 };
    await rejectsWith(nodes.setAuth(node, { username: 'joe', password: SECRET }, { root: r }), 'ISCSI_NODE_NOT_FOUND');
    await nodes.save(node, { root: r });
    await nodes.setAuth(node, { username: 'joe', password: SECRET, reverseUsername: 'tgt', reversePassword: SECRET_IN }, { root: r });
    const chap = await nodes.getAuth(node, { root: r });
    expect(chap?.password).toBe(SECRET);
    expect(inspect(chap)).not.toContain(SECRET);
    expect(JSON.stringify(chap)).not.toContain(SECRET_IN);
    const rec = await nodes.get(node, { root: r });
    expect(rec['node.session.auth.password_in']).toBe(SECRET_IN);
    expect(inspect(rec)).not.toContain(SECRET);
    expect(JSON.stringify(rec)).not.toContain(SECRET_IN);
    const login = await buildNodeRecord(node, { root: r });
    expect(login['node.session.auth.password']).toBe(SECRET);
    expect(inspect(login)).not.toContain(SECRET);
    const e = await rejectsWith(nodes.setParameter(node, 'node.session.auth.password', `${SECRET}\n`, { root: r }), 'ERR_INVALID_ARG_VALUE');
    expect(e.message).not.toContain(SECRET);
    const e2 = await rejectsWith(nodes.setAuth(node, { username: 'joe', password: ` ${SECRET}` }, { root: r }), 'ERR_INVALID_ARG_VALUE');
    expect(e2.message).not.toContain(SECRET);
    await nodes.setAuth(node, null, { root: r });
    expect(await nodes.getAuth(node, { root: r })).toBeNull();
    expect(fs.readFileSync(etc(r, 'nodes', T1, '192.0.2.10,3260,1', 'default'), 'utf8')).not.toContain('auth.username');
  });

  it('buildNodeRecord: new node = defaults ⊕ iscsid.conf ⊕ identity; stored node = defaults ⊕ record (iscsid.conf not re-applied)', async () => {
    const r = mkroot();
    fs.mkdirSync(etc(r), { recursive: true });
    fs.writeFileSync(etc(r, 'iscsid.conf'), 'node.conn[0].timeo.login_timeout = 7\nnode.session.auth.username = confuser\nnode.startup = bogus\n');
    const node = { target: T1, address: '192.0.2.10', tpgt: 1 };
    const fresh = await buildNodeRecord(node, { root: r });
    expect(fresh['node.conn[0].timeo.login_timeout']).toBe('7');
    expect(fresh['node.session.auth.username']).toBe('confuser');
    expect(fresh['node.startup']).toBe('manual'); // invalid enum in iscsid.conf ignored
    expect(fresh['node.name']).toBe(T1);
    expect(fresh['node.tpgt']).toBe('1');
    expect(fresh['node.conn[0].port']).toBe('3260');
    fs.mkdirSync(etc(r, 'nodes', T1, '192.0.2.10,3260,1'), { recursive: true });
    fs.copyFileSync(path.join(FIX, 'newstyle-chap.rec'), etc(r, 'nodes', T1, '192.0.2.10,3260,1', 'default'));
    const stored = await buildNodeRecord({ target: T1, address: '192.0.2.10' }, { root: r });
    expect(stored['node.conn[0].timeo.login_timeout']).toBe('15');
    expect(stored['node.session.auth.username']).toBe('joe');
    expect(stored['node.tpgt']).toBe('1');
    expect(stored['iface.initiatorname']).toBeUndefined();
  });

  it('hostile inputs are refused before touching the filesystem', async () => {
    const r = mkroot();
    for (const target of ['iqn.2024-01.x:a/../../etc', '../iqn.2024-01.x:a', 'iqn.2024-01.x:..', '..', 'iqn.2024-01.x:a\nb', '']) {
      await rejectsWith(nodes.save({ target, address: '192.0.2.1' }, { root: r }), 'ERR_INVALID_ARG_VALUE');
    }
    await rejectsWith(nodes.save({ target: T1, address: '192.0.2.1/24' }, { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.save({ target: T1, address: 'host.example' }, { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.save({ target: T1, address: '192.0.2.1', iface: '../x' }, { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.save({ target: T1, address: '192.0.2.1', port: 0 }, { root: r }), 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(nodes.save({ target: T1, address: '192.0.2.1' }, { root: r, record: { 'node.x\nnode.startup': 'a' } }), 'ERR_INVALID_ARG_VALUE');
    expect(fs.existsSync(etc(r, 'nodes'))).toBe(false);
    // Identity keys inside `record` never move the record: the node argument wins.
    await nodes.save({ target: T1, address: '192.0.2.1', tpgt: 1 }, { root: r, record: { 'node.conn[0].address': '10.0.0.1', 'node.tpgt': '9' } });
    expect(fs.readdirSync(etc(r, 'nodes', T1))).toEqual(['192.0.2.1,3260,1']);
    // A huge record file is refused, not read into memory whole.
    fs.mkdirSync(etc(r, 'nodes', T1, '192.0.2.1,3260,1'), { recursive: true });
    fs.writeFileSync(etc(r, 'nodes', T1, '192.0.2.1,3260,1', 'default'), `# ${'x'.repeat(400 * 1024)}\n`);
    const e = await rejectsWith(nodes.get({ target: T1, address: '192.0.2.1' }, { root: r }), 'ISCSI_NODE_DB_ERROR');
    expect(e.message).toContain('larger than');
  });
});

describe('ifaces', () => {
  it('a node bound to a non-default iface copies that iface record; unknown iface → ISCSI_CONFIG_ERROR', async () => {
    const r = mkroot();
    fs.mkdirSync(etc(r, 'ifaces'), { recursive: true });
    // Layout of an iface file as `iscsiadm -m iface -I myif -o new` + update writes it (2.1.8).
    fs.writeFileSync(
      etc(r, 'ifaces', 'myif'),
      '# BEGIN RECORD 2.1.8\niface.iscsi_ifacename = myif\niface.net_ifacename = eth1\niface.prefix_len = 0\n' +
        'iface.transport_name = tcp\niface.initiatorname = iqn.2024-01.test:ini\n# END RECORD\n',
    );
    const node = { target: T1, address: '192.0.2.50', tpgt: 1, iface: 'myif' };
    await nodes.save(node, { root: r });
    const rec = parseNodeRecord(fs.readFileSync(etc(r, 'nodes', T1, '192.0.2.50,3260,1', 'myif'), 'utf8'));
    expect(rec['iface.iscsi_ifacename']).toBe('myif');
    expect(rec['iface.net_ifacename']).toBe('eth1');
    expect(rec['iface.initiatorname']).toBe('iqn.2024-01.test:ini');
    expect((await buildNodeRecord(node, { root: r }))['iface.initiatorname']).toBe('iqn.2024-01.test:ini');
    expect(await nodes.list({ root: r })).toEqual([{ target: T1, address: '192.0.2.50', port: 3260, tpgt: 1, iface: 'myif' }]);
    await rejectsWith(nodes.get({ ...node, iface: 'default' }, { root: r }), 'ISCSI_NODE_NOT_FOUND');
    await rejectsWith(nodes.save({ ...node, iface: 'nosuch' }, { root: r }), 'ISCSI_CONFIG_ERROR');
  });
});

describe('locking and atomicity', () => {
  function holdLock(r: string): string {
    const dir = path.join(r, LOCK_DIR);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'lock'), '');
    fs.linkSync(path.join(dir, 'lock'), path.join(dir, 'lock.write')); // what iscsiadm's idbm_lock() does
    return path.join(dir, 'lock.write');
  }

  it('waits for a held lock, then fails with ISCSI_NODE_DB_LOCKED', async () => {
    const r = mkroot();
    holdLock(r);
    const t0 = Date.now();
    const e = await rejectsWith(nodes.save({ target: T1, address: '192.0.2.1' }, { root: r, timeoutMs: 300 }), 'ISCSI_NODE_DB_LOCKED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(e.message).toContain('lock.write');
    expect(fs.existsSync(etc(r, 'nodes'))).toBe(false);
  });

  it('proceeds when the holder releases; releases its own lock', async () => {
    const r = mkroot();
    const lw = holdLock(r);
    setTimeout(() => fs.unlinkSync(lw), 150);
    await nodes.save({ target: T1, address: '192.0.2.1', tpgt: 1 }, { root: r, timeoutMs: 5000 });
    expect(fs.existsSync(lw)).toBe(false);
    expect(fs.existsSync(path.join(r, LOCK_DIR, 'lock'))).toBe(true);
  });

  it('abort while waiting rejects with ABORT_ERR', async () => {
    const r = mkroot();
    holdLock(r);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await rejectsWith(nodes.save({ target: T1, address: '192.0.2.1' }, { root: r, signal: ac.signal, timeoutMs: 10_000 }), 'ABORT_ERR');
  });

  it('a failure between temp write and rename leaves the old record intact and no temp file', async () => {
    const r = mkroot();
    const node = { target: T1, address: '192.0.2.1', tpgt: 1 };
    await nodes.save(node, { root: r, auth: { username: 'joe', password: SECRET } });
    const file = etc(r, 'nodes', T1, '192.0.2.1,3260,1', 'default');
    const before = fs.readFileSync(file, 'utf8');
    let sawTemp = '';
    _setBeforeRenameHook((tmp) => {
      sawTemp = tmp;
      expect(fs.statSync(tmp).mode & 0o777).toBe(0o600);
      throw new Error('simulated crash');
    });
    try {
      await expect(nodes.setParameter(node, 'node.startup', 'automatic', { root: r })).rejects.toThrow();
    } finally {
      _setBeforeRenameHook(null);
    }
    expect(sawTemp).not.toBe('');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['default']);
    // A temp file a killed writer left behind is swept by the next write under the lock.
    fs.writeFileSync(path.join(path.dirname(file), '.iscsi-initiator-tmp-1-abc'), 'partial');
    expect((await nodes.list({ root: r })).length).toBe(1);
    await nodes.setParameter(node, 'node.startup', 'automatic', { root: r });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['default']);
    expect(await nodes.getParameter(node, 'node.startup', { root: r })).toBe('automatic');
  });
});

// ------------------------------------------------------------------ iscsiadm round trips

describe('round trips with iscsiadm 2.1.8 (private namespace)', () => {
  it('(a) the committed fixtures are what iscsiadm writes today', () => {
    const out = mkroot();
    const r = spawnSync('sh', [path.join(FIX, 'capture.sh'), out], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    for (const f of ['oldstyle-default.rec', 'newstyle-chap.rec', 'ipv6.rec']) {
      expect(fs.readFileSync(path.join(out, f), 'utf8')).toBe(fixture(f));
    }
  });

  it('(a) iscsiadm -o new / -o update → our parser and nodes.get read every value', async () => {
    const r = mkroot();
    const res = iscsiadm(
      r,
      `set -e
iscsiadm -m node -o new -T ${T1} -p 192.0.2.20:3260,7 >/dev/null
u() { iscsiadm -m node -T ${T1} -p 192.0.2.20:3260 -o update -n "$1" -v "$2"; }
u node.session.auth.authmethod CHAP
u node.session.auth.username joe
u node.session.auth.password '${SECRET}'
u node.conn[0].iscsi.DataDigest CRC32C
u node.session.iscsi.InitialR2T Yes
u node.session.nr_sessions 2`,
    );
    expect(res.status).toBe(0);
    const node = { target: T1, address: '192.0.2.20', port: 3260 };
    const rec = await nodes.get(node, { root: r });
    expect(rec['node.tpgt']).toBe('7');
    expect(rec['node.session.auth.password']).toBe(SECRET);
    expect(rec['node.conn[0].iscsi.DataDigest']).toBe('CRC32C');
    expect(rec['node.session.iscsi.InitialR2T']).toBe('Yes');
    expect(rec['node.session.nr_sessions']).toBe('2');
    expect(await nodes.getAuth(node, { root: r })).toEqual({ username: 'joe', password: SECRET });
    expect(await nodes.list({ root: r })).toEqual([{ target: T1, address: '192.0.2.20', port: 3260, tpgt: 7, iface: 'default' }]);
    // Our save over iscsiadm's record keeps its CHAP and is read back by iscsiadm.
    await nodes.save(node, { root: r, record: { 'node.startup': 'automatic' } });
    const show = iscsiadm(r, `iscsiadm -m node -T ${T1} -p 192.0.2.20:3260 -S`);
    expect(show.status).toBe(0);
    const seen = parseIscsiadmPrint(show.stdout);
    expect(seen['node.startup']).toBe('automatic');
    expect(seen['node.session.auth.password']).toBe(SECRET);
  });

  it('(b) records we write (CHAP, IPv6, tpgt, old style) are listed and shown identically by iscsiadm', async () => {
    const r = mkroot();
    const v4 = { target: T1, address: '192.0.2.30', port: 3260, tpgt: 2 };
    const v6 = { target: 'iqn.2024-01.test:tgt6', address: 'fd00::30', port: 3261, tpgt: 5 };
    const old = { target: 'iqn.2024-01.test:old', address: '127.0.0.1' };
    await nodes.save(v4, {
      root: r,
      auth: { username: 'joe', password: SECRET, reverseUsername: 'tgt', reversePassword: SECRET_IN },
      record: { 'node.startup': 'automatic', 'node.conn[0].iscsi.HeaderDigest': 'CRC32C,None', 'node.session.auth.chap_algs': 'SHA256,MD5' },
    });
    await nodes.save(v6, { root: r, record: { 'node.session.timeo.replacement_timeout': '9' } });
    await nodes.save(old, { root: r });
    const list = iscsiadm(r, 'iscsiadm -m node');
    expect(list.status).toBe(0);
    expect(list.stdout.split('\n').filter(Boolean).sort()).toEqual(
      // iscsiadm (libopeniscsiusr) prints an old-style record's tpgt -1 as unsigned.
      ['127.0.0.1:3260,4294967295 iqn.2024-01.test:old', '192.0.2.30:3260,2 iqn.2024-01.test:tgt1', '[fd00::30]:3261,5 iqn.2024-01.test:tgt6'].sort(),
    );
    for (const [node, portal] of [
      [v4, '192.0.2.30:3260'],
      [v6, '[fd00::30]:3261'],
      [old, '127.0.0.1:3260'],
    ] as const) {
      const show = iscsiadm(r, `iscsiadm -m node -T ${node.target} -p '${portal}' -S`);
      expect(show.status).toBe(0);
      const theirs = parseIscsiadmPrint(show.stdout);
      const ours = await nodes.get(node, { root: r });
      // Every key iscsiadm prints has our value ('' for keys we leave out).
      expect(Object.keys(theirs).length).toBeGreaterThan(100);
      for (const [k, v] of Object.entries(theirs)) {
        expect(NODE_KEYS).toContain(k);
        expect([k, ours[k] ?? '']).toEqual([k, v]);
      }
    }
    const s4 = parseIscsiadmPrint(iscsiadm(r, `iscsiadm -m node -T ${T1} -p 192.0.2.30:3260 -S`).stdout);
    expect(s4['node.session.auth.password_in']).toBe(SECRET_IN);
    expect(s4['node.session.auth.chap_algs']).toBe('SHA256,MD5');
    expect(s4['node.conn[0].iscsi.HeaderDigest']).toBe('CRC32C,None');
    // iscsiadm can delete what we wrote.
    const del = iscsiadm(r, `iscsiadm -m node -T ${T1} -p 192.0.2.30:3260 -o delete`);
    expect(del.status).toBe(0);
    expect((await nodes.list({ root: r })).map((n) => n.target).sort()).toEqual(['iqn.2024-01.test:old', 'iqn.2024-01.test:tgt6']);
  });

  it('iscsiadm waits on the lock we hold (same LOCK_DIR protocol)', async () => {
    const r = mkroot();
    const lockDir = path.join(r, LOCK_DIR);
    fs.mkdirSync(lockDir, { recursive: true });
    fs.writeFileSync(path.join(lockDir, 'lock'), '');
    fs.linkSync(path.join(lockDir, 'lock'), path.join(lockDir, 'lock.write'));
    fs.mkdirSync(etc(r), { recursive: true });
    const res = spawnSync(
      'unshare',
      ['--mount', '--net', '--propagation', 'private', 'sh', '-c',
        'mount --bind "$R/etc/iscsi" /etc/iscsi && mount --bind "$R/run/lock" /run/lock && ' +
        `timeout 2 iscsiadm -m node -o new -T ${T1} -p 192.0.2.60:3260,1`],
      { env: { ...process.env, R: r }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(res.status).toBe(124); // still waiting for our lock when timeout(1) killed it
    expect(fs.existsSync(etc(r, 'nodes', T1))).toBe(false);
    fs.unlinkSync(path.join(lockDir, 'lock.write'));
    const ok = iscsiadm(r, `iscsiadm -m node -o new -T ${T1} -p 192.0.2.60:3260,1`);
    expect(ok.status).toBe(0);
    expect(fs.existsSync(etc(r, 'nodes', T1, '192.0.2.60,3260,1', 'default'))).toBe(true);
  });

  it('(c) our file is byte-identical to the one iscsiadm writes for the same record', async () => {
    const ours = mkroot();
    const theirs = mkroot();
    const node = { target: T1, address: '192.0.2.40', port: 3260, tpgt: 4 };
    await nodes.save(node, { root: ours, auth: { username: 'joe', password: SECRET }, record: { 'node.startup': 'automatic' } });
    const res = iscsiadm(
      theirs,
      `set -e
iscsiadm -m node -o new -T ${T1} -p 192.0.2.40:3260,4 >/dev/null
u() { iscsiadm -m node -T ${T1} -p 192.0.2.40:3260 -o update -n "$1" -v "$2"; }
u node.startup automatic
u node.session.auth.authmethod CHAP
u node.session.auth.username joe
u node.session.auth.password '${SECRET}'`,
    );
    expect(res.status).toBe(0);
    const rel = path.join('nodes', T1, '192.0.2.40,3260,4', 'default');
    expect(fs.readFileSync(etc(ours, rel), 'utf8')).toBe(fs.readFileSync(etc(theirs, rel), 'utf8'));
    expect(mode(etc(ours, rel))).toBe(mode(etc(theirs, rel)));
    expect(fs.readlinkSync(etc(ours, 'static', `${T1},192.0.2.40,3260,4,default`))).toBe(
      fs.readlinkSync(etc(theirs, 'static', `${T1},192.0.2.40,3260,4,default`)),
    );
  });
});
