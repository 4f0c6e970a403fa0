/**
 * Portal parsing and formatting.
 *
 * Accepted forms (RFC 7143 13.8 TargetAddress syntax, plus the object form):
 *   "10.0.0.1"  "10.0.0.1:3261"  "[fe80::1%eth0]:3260"  "[::1]"  "::1"
 *   "host.example"  "host.example:3260"  { address, port? }
 * A bare IPv6 literal cannot carry a port (the last ":x" would be ambiguous);
 * use brackets for that. The default port is 3260 (IANA iscsi-target).
 * Names are not resolved here: see discovery.ts / session.ts.
 */
import * as net from 'node:net';
import { invalidArg } from './errors';

export const DEFAULT_PORT = 3260;

export interface PortalInput {
  address: string;
  port?: number;
}

export interface ParsedPortal {
  /** Numeric address (IPv6 without brackets, may carry %scope) or host name. */
  host: string;
  port: number;
  /** 4 or 6 for IP literals, 0 for a host name to resolve. */
  family: 0 | 4 | 6;
  /** "addr:port" / "[v6]:port" for messages and NativeSessionConfig.portalText. */
  text: string;
}

// RFC 1123 host name: dot-separated labels of letters, digits and hyphens,
// not starting or ending with a hyphen. Underscores are tolerated because
// real internal DNS zones use them.
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function isHostName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (!name) return false;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  // An all-numeric dotted name is a malformed IPv4 address, not a host.
  return !/^[0-9.]+$/.test(name);
}

function checkPort(port: unknown, argName: string, original: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArg(argName, original, 'must have a port that is an integer between 1 and 65535');
  }
  return port;
}

function parsePortText(s: string, original: unknown, argName: string): number {
  if (!/^[0-9]{1,5}$/.test(s)) {
    throw invalidArg(argName, original, 'must have a port that is an integer between 1 and 65535');
  }
  return checkPort(Number(s), argName, original);
}

export function formatPortal(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function finish(host: string, port: number, argName: string, original: unknown): ParsedPortal {
  const fam = net.isIP(host);
  if (fam === 0 && !isHostName(host)) {
    throw invalidArg(argName, original, 'must be an IPv4 address, an IPv6 address or a host name');
  }
  return { host, port, family: fam as 0 | 4 | 6, text: formatPortal(host, port) };
}

/** Parses a portal string or object; throws IscsiError ERR_INVALID_ARG_VALUE. */
export function parsePortal(input: unknown, argName = 'portal', defaultPort = DEFAULT_PORT): ParsedPortal {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const o = input as Partial<PortalInput>;
    if (typeof o.address !== 'string' || o.address.length === 0) {
      throw invalidArg(`${argName}.address`, o.address, 'must be a non-empty string');
    }
    const port = o.port === undefined ? defaultPort : checkPort(o.port, `${argName}.port`, o.port);
    let host = o.address;
    // Accept "[::1]" in the object form too; a port inside address is not
    // allowed here because `port` exists for that.
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (net.isIP(host) === 0 && host.includes(':')) {
      throw invalidArg(`${argName}.address`, o.address, 'must be an address without a port (use the port field)');
    }
    return finish(host, port, `${argName}.address`, o.address);
  }
  if (typeof input !== 'string') {
    throw invalidArg(argName, input, 'must be a string or an object with an address');
  }
  const s = input;
  if (s.length === 0 || s.length > 300 || /[\s\x00-\x1f\x7f]/.test(s)) {
    throw invalidArg(argName, input, 'must be "host", "host:port", "[ipv6]" or "[ipv6]:port"');
  }
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw invalidArg(argName, input, 'has an unterminated "[" in an IPv6 address');
    const host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (net.isIPv6(host) === false) throw invalidArg(argName, input, 'must hold an IPv6 address inside brackets');
    let port = defaultPort;
    if (rest.length > 0) {
      if (!rest.startsWith(':')) throw invalidArg(argName, input, 'must have ":port" after "]"');
      port = parsePortText(rest.slice(1), input, argName);
    }
    return finish(host, port, argName, input);
  }
  // Bare IPv6 (two or more colons): no port possible.
  if (net.isIPv6(s)) return finish(s, defaultPort, argName, input);
  const colon = s.lastIndexOf(':');
  if (colon >= 0) {
    if (s.indexOf(':') !== colon) {
      throw invalidArg(argName, input, 'must put an IPv6 address with a port in brackets, e.g. "[::1]:3260"');
    }
    return finish(s.slice(0, colon), parsePortText(s.slice(colon + 1), input, argName), argName, input);
  }
  return finish(s, defaultPort, argName, input);
}
