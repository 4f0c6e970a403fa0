/**
 * Host name resolution without the threadpool: hosts-file parsing (pure)
 * and resolveHost() against a real hosts file written for the test. DNS
 * itself is not exercised here (the machine has no resolver to talk to);
 * discovery.test.ts resolves `localhost` end to end.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hostsFileLookup, resolveHost } from '../lib/resolve';

const HOSTS = `# comment line
127.0.0.1\tlocalhost
::1     localhost ip6-localhost ip6-loopback
192.0.2.7  san-a.example san-a   # trailing comment
not-an-ip  bogus.example
192.0.2.8  SAN-B.Example.
192.0.2.7  san-a.example
`;

describe('hostsFileLookup', () => {
  it('returns every address of a name in file order, without duplicates', () => {
    expect(hostsFileLookup(HOSTS, 'localhost')).toEqual(['127.0.0.1', '::1']);
    expect(hostsFileLookup(HOSTS, 'san-a')).toEqual(['192.0.2.7']);
    expect(hostsFileLookup(HOSTS, 'san-a.example')).toEqual(['192.0.2.7']);
  });
  it('matches case-insensitively and ignores a trailing dot', () => {
    expect(hostsFileLookup(HOSTS, 'san-b.example')).toEqual(['192.0.2.8']);
    expect(hostsFileLookup(HOSTS, 'SAN-B.EXAMPLE.')).toEqual(['192.0.2.8']);
  });
  it('ignores comments and lines whose first field is not an IP', () => {
    expect(hostsFileLookup(HOSTS, 'comment')).toEqual([]);
    expect(hostsFileLookup(HOSTS, 'bogus.example')).toEqual([]);
    expect(hostsFileLookup(HOSTS, 'trailing')).toEqual([]);
  });
});

describe('resolveHost', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'resolve-test-'));
    writeFileSync(path.join(dir, 'hosts'), HOSTS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers from the hosts file', async () => {
    await expect(resolveHost('san-a', { hostsFile: path.join(dir, 'hosts') })).resolves.toEqual(['192.0.2.7']);
  });
  it('resolves localhost from the system hosts file', async () => {
    const a = await resolveHost('localhost');
    expect(a).toContain('127.0.0.1');
  });
  it('rejects with a code when nothing is found', async () => {
    const ac = new AbortController();
    // A DNS "server" on a closed loopback port: no query leaves the machine.
    const p = resolveHost('no-such-host.invalid', {
      hostsFile: path.join(dir, 'hosts'),
      dnsServers: ['127.0.0.1:9'],
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 2000).unref();
    await expect(p).rejects.toHaveProperty('code');
  });
});
