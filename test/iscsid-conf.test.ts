import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import {
  ISCSID_CONF,
  findIscsidConf,
  nodeDefaultsFromConf,
  parseIscsidConf,
  readIscsidConf,
} from '../lib/kernel/iscsid-conf';
import { IscsiError } from '../lib/errors';

const DEBIAN = fs.readFileSync(path.join(__dirname, 'fixtures', 'node-db', 'debian12-iscsid.conf'), 'utf8');

describe('parseIscsidConf', () => {
  it("reads Debian 12's shipped iscsid.conf", () => {
    const c = parseIscsidConf(DEBIAN);
    expect(c['iscsid.startup']).toBe('/bin/systemctl start iscsid.socket');
    expect(c['node.startup']).toBe('manual');
    expect(c['node.leading_login']).toBe('No');
    expect(c['node.session.timeo.replacement_timeout']).toBe('120');
    expect(c['node.conn[0].timeo.login_timeout']).toBe('15');
    expect(c['node.session.initial_login_retry_max']).toBe('8');
    expect(c['node.session.iscsi.FastAbort']).toBe('Yes');
    expect(c['node.session.scan']).toBe('auto');
    expect(c['discovery.sendtargets.iscsi.MaxRecvDataSegmentLength']).toBe('32768');
    // Commented-out examples are not values.
    expect(c['node.session.auth.authmethod']).toBeUndefined();
    expect(c['node.session.auth.chap_algs']).toBeUndefined();
    expect(Object.keys(c).length).toBe(27);
  });

  it('node defaults keep only node/iface keys with storable values', () => {
    const d = nodeDefaultsFromConf(parseIscsidConf(DEBIAN));
    expect(d['iscsid.startup']).toBeUndefined();
    expect(d['discovery.sendtargets.iscsi.MaxRecvDataSegmentLength']).toBeUndefined();
    expect(d['node.conn[0].timeo.login_timeout']).toBe('15');
    expect(Object.keys(d).length).toBe(25);
    const bad = nodeDefaultsFromConf(parseIscsidConf('node.startup = sometimes\nnode.session.cmds_max = lots\nnode.session.scan = manual\n'));
    expect({ ...bad }).toEqual({ 'node.session.scan': 'manual' });
  });

  it('skips the lines iscsiadm skips; keeps spacing rules; last value wins', () => {
    const c = parseIscsidConf(
      [
        '   # indented comment',
        'no separator here',
        'key.without.value =',
        'node.startup=automatic',
        '  node.session.cmds_max   =   64  ',
        'node.session.cmds_max = 256',
        `node.conn[0].port = ${'1'.repeat(3000)}`,
        'a = b = c',
      ].join('\n'),
    );
    expect({ ...c }).toEqual({ 'node.startup': 'automatic', 'node.session.cmds_max': '256', a: 'b = c' });
  });

  it('hides CHAP secrets from inspect/JSON but keeps them readable', () => {
    const c = parseIscsidConf('node.session.auth.password = hunter2-secret\ndiscovery.sendtargets.auth.password_in = other-secret\n');
    expect(c['node.session.auth.password']).toBe('hunter2-secret');
    expect(inspect(c)).not.toContain('hunter2-secret');
    expect(JSON.stringify(c)).not.toContain('other-secret');
  });
});

describe('readIscsidConf / findIscsidConf', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsidconf-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('absent file → {} and null path', async () => {
    expect(await findIscsidConf(root)).toBeNull();
    expect({ ...(await readIscsidConf({ root })) }).toEqual({});
  });

  it('reads <root>/etc/iscsi/iscsid.conf', async () => {
    fs.mkdirSync(path.join(root, 'etc/iscsi'), { recursive: true });
    fs.writeFileSync(path.join(root, ISCSID_CONF), DEBIAN);
    expect(await findIscsidConf(root)).toBe(path.join(root, ISCSID_CONF));
    expect((await readIscsidConf({ root }))['node.session.initial_login_retry_max']).toBe('8');
  });

  it('refuses oversized files and honours an aborted signal', async () => {
    const big = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsidconf-big-'));
    fs.mkdirSync(path.join(big, 'etc/iscsi'), { recursive: true });
    fs.writeFileSync(path.join(big, ISCSID_CONF), '#'.repeat(2 * 1024 * 1024));
    await expect(readIscsidConf({ root: big })).rejects.toMatchObject({ code: 'ISCSI_CONFIG_ERROR' });
    fs.rmSync(big, { recursive: true, force: true });
    const ac = new AbortController();
    ac.abort();
    const err = await readIscsidConf({ root, signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IscsiError);
    expect((err as IscsiError).code).toBe('ABORT_ERR');
  });
});
