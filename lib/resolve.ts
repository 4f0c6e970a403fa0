/**
 * Host name resolution that never parks a libuv threadpool thread on a
 * network wait.
 *
 * `dns.lookup()` runs getaddrinfo(3) on the threadpool, where a slow DNS
 * server holds one of the (default four) pool threads for seconds and
 * stalls every fs and crypto call of the process behind it. Instead:
 *  1. the hosts file (`/etc/hosts`, read asynchronously: local file I/O),
 *     so `localhost` and static entries work as with getaddrinfo;
 *  2. DNS through c-ares (`dns.Resolver`), which is driven by the event
 *     loop and can be cancelled when the caller aborts.
 * Other NSS sources (mDNS, LDAP, systemd-resolved's synthesized names) are
 * not consulted; use an IP address or a hosts entry for those.
 */
import { promises as fs } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import * as net from 'node:net';

export const HOSTS_FILE = '/etc/hosts';

/** Addresses for `host` in hosts-file text, in file order (pure). */
export function hostsFileLookup(text: string, host: string): string[] {
  const want = host.toLowerCase().replace(/\.$/, '');
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [addr, ...names] = line.split(/\s+/);
    if (!net.isIP(addr)) continue;
    if (names.some((n) => n.toLowerCase().replace(/\.$/, '') === want) && !out.includes(addr)) out.push(addr);
  }
  return out;
}

export interface ResolveOptions {
  signal?: AbortSignal;
  /** Path of the hosts file (tests). */
  hostsFile?: string;
  /** DNS servers to ask instead of the system's (tests, split DNS). */
  dnsServers?: string[];
}

/**
 * Resolve a host name to IP addresses: hosts file first, then DNS A and
 * AAAA records through c-ares (IPv4 first). Rejects with an Error whose
 * `code` is ENOTFOUND (or c-ares' code) when nothing is found; aborting the
 * signal cancels the DNS queries.
 */
export async function resolveHost(host: string, options: ResolveOptions = {}): Promise<string[]> {
  let hosts = '';
  try {
    hosts = await fs.readFile(options.hostsFile ?? HOSTS_FILE, 'utf8');
  } catch {
    // No hosts file: DNS only.
  }
  const fromFile = hostsFileLookup(hosts, host);
  if (fromFile.length) return fromFile;

  const resolver = new Resolver();
  if (options.dnsServers) resolver.setServers(options.dnsServers);
  const onAbort = () => resolver.cancel();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const found = [
      ...(v4.status === 'fulfilled' ? v4.value : []),
      ...(v6.status === 'fulfilled' ? v6.value : []),
    ];
    if (found.length) return found;
    const reason = (v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : null) as
      | { code?: string }
      | null;
    const err = new Error(`no addresses for ${host}`) as Error & { code: string };
    err.code = reason?.code && reason.code !== 'ENODATA' ? reason.code : 'ENOTFOUND';
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
