/**
 * Kernel command-line arguments that make a dracut initramfs boot from an
 * iSCSI disk: `netroot=iscsi:...`, `rd.iscsi.initiator=`, or
 * `rd.iscsi.firmware=1` for iBFT boots, plus the network (`ip=`, `ifname=`,
 * `vlan=`, `rd.iscsi.ibft=1`) and `rd.neednet=1`.
 *
 * Formats are those of dracut 059 (Debian 12): man dracut.cmdline(7)
 * "iSCSI" and "Network"; the parsers that consume them are
 * modules.d/40network/net-lib.sh (`parse_iscsi_root`, `ip_to_var`,
 * `parse_ifname_opts`), modules.d/95iscsi/parse-iscsiroot.sh and
 * iscsiroot.sh (`handle_netroot`), modules.d/35network-legacy
 * (parse-ip-opts.sh, parse-vlan.sh, parse-ibft.sh). test/dracut.test.ts runs
 * those very parsers on what this module emits.
 *
 * dracut has no escaping: fields are split on ':' (and the credentials off
 * the first '@'), the kernel splits arguments on white space, and several
 * values are expanded unquoted by the shell (globbing). Every value that one
 * of those steps would change is refused with DRACUT_UNREPRESENTABLE instead
 * of being emitted wrongly.
 *
 * Pure function: no I/O, nothing to wait for, so unlike the rest of the
 * kernel API it takes no signal/timeout/root.
 */
import { isIP } from 'node:net';
import { ErrorCodes, IscsiError, invalidArg } from '../errors';
import type { FirmwareNetworkConfig, FirmwareNode } from '../firmware/types';
import type { Chap, KernelSession } from './types';

/** A static or DHCP interface configuration for `ip=`. */
export interface DracutInterfaceConfig {
  /** Client address (IPv4 or IPv6, no brackets). Ignored when `dhcp`. */
  ip?: string | null;
  /** Prefix length; for IPv4 turned into the dotted netmask dracut documents. */
  prefixLength?: number | null;
  /** IPv4 dotted netmask (alternative to prefixLength). */
  netmask?: string | null;
  gateway?: string | null;
  hostname?: string | null;
  /** Kernel interface name (`<interface>` of ip=); required for static addresses. */
  ifaceName: string | null;
  /** When set (with ifaceName), `ifname=<ifaceName>:<mac>` pins the name to the NIC. */
  mac?: string | null;
  /** Configure by DHCP (DHCPv6 when `ip` is an IPv6 address) instead of statically. */
  dhcp?: boolean;
  /** Up to two name servers (static configuration only). */
  dns?: string[];
  /** 802.1Q VLAN id; 0/absent for none. Adds `vlan=<if>.<id>:<if>` and configures the VLAN device. */
  vlan?: number;
}

/**
 * Where the initramfs gets its network from: an interface configuration
 * (e.g. getFirmwareNetworkConfig()'s result), 'dhcp', 'ibft' (dracut reads
 * the iBFT NICs itself: `rd.iscsi.ibft=1`), or null/absent for no `ip=`
 * (dracut then defaults to DHCP on all interfaces for a netroot).
 */
export type DracutNetwork = FirmwareNetworkConfig | DracutInterfaceConfig | 'dhcp' | 'ibft' | null;

export interface DracutArgsOptions {
  /** `rd.iscsi.initiator=`; default the session's initiator name. */
  initiatorName?: string;
  /**
   * CHAP credentials to put into the netroot. Default none: the kernel
   * command line is world-readable (/proc/cmdline, boot loader config), so
   * secrets are only emitted when given here explicitly. Not accepted for
   * firmware boots (dracut reads CHAP from the firmware table then).
   */
  auth?: Chap | null;
  /** LUN of the netroot; default the session's lowest disk LUN, else 0. */
  lun?: number;
  network?: DracutNetwork;
  /** Network device the iface is bound to (netroot `<netdev_name>`); needs a named iface. */
  netdev?: string;
  /** open-iscsi iface name for the netroot; default the session's, "default" means none. */
  ifaceName?: string;
  /** Boot through the firmware table (`rd.iscsi.firmware=1`) instead of a netroot.
   * Default true for a FirmwareNode, false for a KernelSession. */
  firmware?: boolean;
  /** Extra node settings, each emitted as `rd.iscsi.param=<name>=<value>` (netroot boots only). */
  params?: Record<string, string | number>;
}

const DEFAULT_PORT = 3260;

/** Throw DRACUT_UNREPRESENTABLE. `shown` is the value to quote, omitted for secrets. */
function unrepresentable(field: string, why: string, shown?: string): IscsiError {
  const value = shown === undefined ? '' : ` (${JSON.stringify(shown.length > 64 ? `${shown.slice(0, 64)}...` : shown)})`;
  return new IscsiError(ErrorCodes.DRACUT_UNREPRESENTABLE, `dracutArgs: ${field}${value} ${why}`);
}

interface FieldRules {
  /** Secret: never quoted in messages. */
  secret?: boolean;
  /** Characters dracut's parser splits on in this position. */
  separators?: string;
  /** The shell expands the value unquoted somewhere (glob characters change it). */
  unquoted?: boolean;
}

/**
 * Checks a value against what survives the kernel command line and dracut.
 * The kernel splits arguments on white space and treats '"' as quoting
 * (Documentation/admin-guide/kernel-parameters.rst); dracut re-splits
 * `$(getargs ...)` on white space anyway; control characters do not survive
 * boot loaders.
 */
function checkField(field: string, value: string, rules: FieldRules = {}): void {
  const shown = rules.secret ? undefined : value;
  const ws = /[\s]/.exec(value);
  if (ws) throw unrepresentable(field, 'contains white space, which splits kernel command-line arguments', shown);
  if (value.includes('"')) throw unrepresentable(field, "contains '\"', which the kernel command line treats as quoting", shown);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) throw unrepresentable(field, 'contains a control character', shown);
  for (const c of rules.separators ?? '') {
    if (value.includes(c)) {
      throw unrepresentable(field, `contains '${c}', which dracut splits this argument on and cannot escape`, shown);
    }
  }
  if (rules.unquoted && /[*?[\]\\]/.test(value)) {
    throw unrepresentable(
      field,
      "contains a shell glob character (* ? [ ] \\); dracut expands this value unquoted (net-lib.sh 'set $authinfo', iscsiroot.sh '--value=$...')",
      shown,
    );
  }
}

function requireString(name: string, value: unknown, secret = false): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidArg(name, secret ? typeof value : value, 'must be a non-empty string');
  }
  return value;
}

const TARGET_PREFIXES = ['iqn.', 'eui.', 'naa.'];

/** parse_iscsi_root finds the target name by the last ":iqn." / ":eui." / ":naa."
 * (net-lib.sh, 059); any other occurrence would move the split. */
function checkNoPrefixMarker(field: string, value: string, atStartToo: boolean): void {
  for (const p of TARGET_PREFIXES) {
    if (value.includes(`:${p}`) || (atStartToo && value.startsWith(p))) {
      throw unrepresentable(
        field,
        `contains '${atStartToo ? p : `:${p}`}', which dracut's parse_iscsi_root takes for the start of the target name`,
        value,
      );
    }
  }
}

function checkTarget(target: string, hasIface: boolean): void {
  if (typeof target !== 'string') throw invalidArg('target', target, 'must be a string');
  if (target.length === 0) throw unrepresentable('target', 'is empty; dracut requires a target name');
  checkField('target', target, { unquoted: true });
  // '@' is handled by always emitting the auth separator (see buildNetroot).
  checkNoPrefixMarker('target', target, false);
  if (TARGET_PREFIXES.some((p) => target.startsWith(p))) return;
  // Other names are re-joined from the ':' fields after the LUN. Without an
  // iface section, parse_iscsi_root guesses "iface:netdev:" when there are
  // more than three fields left and the third (the name's second ':' part)
  // is empty or a number; and a trailing ':' is lost in the split.
  if (!target.includes(':')) return;
  if (target.endsWith(':')) {
    throw unrepresentable('target', "ends with ':', which dracut's field split drops", target);
  }
  const parts = target.split(':');
  if (!hasIface && parts.length >= 3 && /^[-+]?[0-9]*$/.test(parts[1])) {
    throw unrepresentable(
      'target',
      "has a ':'-separated part that is empty or numeric; without an iqn./eui./naa. prefix dracut would read it as iface:netdev",
      target,
    );
  }
}

/** Host part of the netroot: IPv6 in brackets (man dracut.cmdline: "If servername is an IPv6 address, it has to be put in brackets"). */
function formatServer(address: unknown): string {
  if (typeof address !== 'string' || address.length === 0) {
    throw invalidArg('address', address, 'must be a non-empty string');
  }
  let a = address;
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const pct = a.indexOf('%');
  const bare = pct >= 0 ? a.slice(0, pct) : a;
  if (isIP(bare) === 6) {
    if (pct >= 0 && !/^[A-Za-z0-9_.-]+$/.test(a.slice(pct + 1))) {
      throw invalidArg('address', address, 'has an IPv6 zone that is not an interface name');
    }
    return `[${a}]`;
  }
  if (pct >= 0) throw invalidArg('address', address, 'has a zone but is not an IPv6 address');
  if (isIP(a) === 4) return a;
  // A DNS name: dracut passes it to iscsiadm -p. Letters, digits, '-', '.'.
  if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(a)) return a;
  if (a.includes(':')) throw unrepresentable('address', "contains ':' but is not an IPv6 address", address);
  throw invalidArg('address', address, 'must be an IPv4 or IPv6 address or a host name');
}

function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArg('port', port, 'must be an integer from 1 to 65535');
  }
  return port;
}

function checkLun(name: string, lun: unknown): number {
  if (typeof lun !== 'number' || !Number.isSafeInteger(lun) || lun < 0) {
    throw invalidArg(name, lun, 'must be a non-negative integer');
  }
  return lun;
}

/** open-iscsi iface and netdev names sit between ':' fields and are expanded unquoted by iscsiroot.sh. */
function checkIfaceField(field: string, value: string): void {
  checkField(field, value, { separators: ':@', unquoted: true });
  checkNoPrefixMarker(field, value, true);
}

function checkAuth(auth: unknown): Chap {
  if (typeof auth !== 'object' || auth === null) throw invalidArg('options.auth', auth, 'must be an object or null');
  const a = auth as Chap;
  const username = requireString('options.auth.username', a.username, true);
  const password = requireString('options.auth.password', a.password, true);
  const ru = a.reverseUsername;
  const rp = a.reversePassword;
  const hasRu = ru !== undefined && ru !== null && ru !== '';
  const hasRp = rp !== undefined && rp !== null && rp !== '';
  if (hasRu !== hasRp) {
    throw invalidArg('options.auth', auth, 'must give both reverseUsername and reversePassword, or neither');
  }
  // parse_iscsi_root: auth is the text before the first '@', split on ':'
  // (net-lib.sh, 059); iscsiroot.sh then passes each as --value=$x unquoted.
  // User names are kept out of messages too: they are half of a credential.
  const rules = { separators: ':@', unquoted: true, secret: true };
  checkField('options.auth.username', username, rules);
  // The user name is the first word of that unquoted 'set $authinfo': a
  // leading '-' or '+' makes it a shell option (dash aborts, bash shifts).
  if (/^[-+]/.test(username)) {
    throw unrepresentable('options.auth.username', "starts with '-' or '+', which dracut's 'set $authinfo' (net-lib.sh) takes for a shell option");
  }
  checkField('options.auth.password', password, rules);
  const out: Chap = { username, password };
  if (hasRu) {
    const reverseUsername = requireString('options.auth.reverseUsername', ru, true);
    const reversePassword = requireString('options.auth.reversePassword', rp, true);
    checkField('options.auth.reverseUsername', reverseUsername, rules);
    checkField('options.auth.reversePassword', reversePassword, rules);
    out.reverseUsername = reverseUsername;
    out.reversePassword = reversePassword;
  }
  return out;
}

interface NetrootParts {
  address: string;
  port: number;
  target: string;
  lun: number;
  iface: string | null;
  netdev: string | null;
  auth: Chap | null;
}

/**
 * netroot=iscsi:[user:pass[:ruser:rpass]@][server]:[protocol]:[port][:[iface]:[netdev]]:[LUN]:target
 * The protocol stays empty (dracut ignores it: iscsiroot.sh "FIXME
 * $iscsi_protocol??"); port and LUN are always written in decimal even when
 * they are dracut's defaults (3260, 0), which it reads the same way.
 */
function buildNetroot(p: NetrootParts): string {
  const server = formatServer(p.address);
  const port = checkPort(p.port);
  const lun = checkLun('options.lun', p.lun);
  const hasIface = p.iface !== null;
  checkTarget(p.target, hasIface);
  let ifacePart = '';
  if (hasIface) {
    checkIfaceField('ifaceName', p.iface as string);
    if (p.netdev !== null) checkIfaceField('options.netdev', p.netdev);
    ifacePart = `:${p.iface}:${p.netdev ?? ''}`;
  }
  let authPart = '';
  if (p.auth) {
    authPart = `${p.auth.username}:${p.auth.password}`;
    if (p.auth.reverseUsername !== undefined) authPart += `:${p.auth.reverseUsername}:${p.auth.reversePassword}`;
  }
  const rest = `${server}::${port}${ifacePart}:${lun}:${p.target}`;
  // The credentials end at the first '@'; an empty auth section lets the
  // rest carry '@' (net-lib.sh comment: "allow empty authinfo to allow having
  // an @ in iscsi_target_name").
  const at = p.auth || rest.includes('@') ? '@' : '';
  return `netroot=iscsi:${authPart}${at}${rest}`;
}

// ---------------------------------------------------------------- network

interface NormalizedIf {
  dhcp: boolean;
  ip: string | null;
  prefixLength: number | null;
  netmask: string | null;
  gateway: string | null;
  hostname: string | null;
  ifaceName: string | null;
  mac: string | null;
  dns: string[];
  vlan: number;
}

function optString(name: string, v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw invalidArg(name, v, 'must be a string or null');
  return v;
}

function normalizeInterface(cfg: object): NormalizedIf {
  const c = cfg as Partial<DracutInterfaceConfig & FirmwareNetworkConfig>;
  const dhcp = c.dhcp === true || c.bootproto === 'DHCP';
  let prefixLength: number | null = null;
  if (c.prefixLength !== undefined && c.prefixLength !== null) {
    if (typeof c.prefixLength !== 'number' || !Number.isInteger(c.prefixLength) || c.prefixLength < 0 || c.prefixLength > 128) {
      throw invalidArg('options.network.prefixLength', c.prefixLength, 'must be an integer from 0 to 128');
    }
    prefixLength = c.prefixLength;
  }
  let vlan = 0;
  if (c.vlan !== undefined && c.vlan !== null) {
    if (typeof c.vlan !== 'number' || !Number.isInteger(c.vlan) || c.vlan < 0 || c.vlan > 4094) {
      throw invalidArg('options.network.vlan', c.vlan, 'must be an integer from 0 to 4094');
    }
    vlan = c.vlan;
  }
  if (c.dns !== undefined && c.dns !== null && !Array.isArray(c.dns)) {
    throw invalidArg('options.network.dns', c.dns, 'must be an array of addresses');
  }
  return {
    dhcp,
    ip: optString('options.network.ip', c.ip),
    prefixLength,
    netmask: optString('options.network.netmask', c.netmask),
    gateway: optString('options.network.gateway', c.gateway),
    hostname: optString('options.network.hostname', c.hostname),
    ifaceName: optString('options.network.ifaceName', c.ifaceName),
    mac: optString('options.network.mac', c.mac),
    dns: (c.dns ?? []).map((d, i) => {
      if (typeof d !== 'string' || isIP(d) === 0) throw invalidArg(`options.network.dns[${i}]`, d, 'must be an IP address');
      return d;
    }),
    vlan,
  };
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', ':' or white space. */
function checkNetdevName(field: string, name: string): void {
  checkField(field, name, { separators: ':', unquoted: true });
  if (name.includes('/') || Buffer.byteLength(name) > 15 || name === '.' || name === '..') {
    throw invalidArg(field, name, 'must be a Linux interface name (at most 15 bytes, no "/")');
  }
}

function prefixToNetmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.');
}

function netmaskToPrefix(mask: string): number | null {
  if (isIP(mask) !== 4) return null;
  const n = mask.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
  const inv = ~n >>> 0;
  if ((inv & (inv + 1)) !== 0) return null; // not contiguous
  return 32 - Math.log2(inv + 1);
}

/** IPv6 fields of ip= go in brackets (man dracut.cmdline; net-lib.sh ip_to_var splits "[*:*:*]:" as one field). */
function ipField(addr: string): string {
  return isIP(addr) === 6 ? `[${addr}]` : addr;
}

/** ip=, ifname= and vlan= for one interface (man dracut.cmdline "Network"). */
function interfaceArgs(n: NormalizedIf, defaultDev: string | null): string[] {
  const out: string[] = [];
  const phys = n.ifaceName ?? defaultDev;
  if (phys !== null) checkNetdevName('options.network.ifaceName', phys);
  let dev = phys;
  if (n.vlan > 0) {
    if (phys === null) throw invalidArg('options.network.ifaceName', phys, 'is required with a VLAN');
    dev = `${phys}.${n.vlan}`;
    checkNetdevName('VLAN device name', dev);
    // 35network-legacy/parse-vlan.sh: vlan=<vlanname>:<phydevice>
    out.push(`vlan=${dev}:${phys}`);
  }
  if (n.mac !== null) {
    if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(n.mac)) {
      throw invalidArg('options.network.mac', n.mac, 'must be a MAC address like 52:54:00:12:34:56');
    }
    if (phys === null) throw invalidArg('options.network.ifaceName', phys, 'is required with a MAC address');
    // parse_ifname_opts wants <if>:<6 octets>; udev matches lower case.
    out.push(`ifname=${phys}:${n.mac.toLowerCase()}`);
  }
  if (n.dhcp) {
    // ibft_to_cmdline (net-lib.sh) picks dhcp6 for an IPv6 NIC.
    const mode = n.ip !== null && isIP(n.ip) === 6 ? 'dhcp6' : 'dhcp';
    out.push(dev === null ? `ip=${mode}` : `ip=${dev}:${mode}`);
    return out;
  }
  if (n.ip === null || isIP(n.ip) === 0 || n.ip === '0.0.0.0' || n.ip === '::') {
    throw invalidArg('options.network.ip', n.ip, 'must be an IP address for a static configuration (or set dhcp)');
  }
  if (dev === null) throw invalidArg('options.network.ifaceName', null, 'is required for a static configuration');
  const family = isIP(n.ip);
  let mask: string;
  if (family === 4) {
    if (n.netmask !== null) {
      const p = netmaskToPrefix(n.netmask);
      if (p === null) throw invalidArg('options.network.netmask', n.netmask, 'must be a contiguous dotted IPv4 netmask');
      if (n.prefixLength !== null && n.prefixLength !== p) {
        throw invalidArg('options.network.netmask', n.netmask, `does not match prefixLength ${n.prefixLength}`);
      }
      mask = n.netmask;
    } else if (n.prefixLength !== null && n.prefixLength <= 32) {
      mask = prefixToNetmask(n.prefixLength);
    } else {
      // 35network-legacy/parse-ip-opts.sh dies: "automatic calculation of netmask is not yet supported".
      throw invalidArg('options.network.prefixLength', n.prefixLength, 'or netmask is required for a static IPv4 address');
    }
  } else {
    if (n.prefixLength === null) {
      throw invalidArg('options.network.prefixLength', n.prefixLength, 'is required for a static IPv6 address');
    }
    // ifup.sh adds "$ip/$mask": the mask field carries the prefix length.
    mask = String(n.prefixLength);
  }
  let gw = '';
  if (n.gateway !== null && n.gateway !== '0.0.0.0' && n.gateway !== '::') {
    if (isIP(n.gateway) !== family) {
      throw invalidArg('options.network.gateway', n.gateway, `must be an IPv${family} address like the client address`);
    }
    gw = ipField(n.gateway);
  }
  let hostname = '';
  if (n.hostname !== null) {
    checkField('options.network.hostname', n.hostname, { separators: ':', unquoted: true });
    hostname = n.hostname;
  }
  let line = `ip=${ipField(n.ip)}::${gw}:${mask}:${hostname}:${dev}:none`;
  const dns = n.dns.filter((d) => d !== '0.0.0.0' && d !== '::');
  if (dns.length > 2) throw invalidArg('options.network.dns', dns, 'may hold at most two servers (ip= has two DNS fields)');
  for (const d of dns) {
    // ip_to_var recognises a DNS field only when it starts like an address:
    // "[0-9a-fA-F]*:*" or a dotted quad; "::1"-style text would be taken for an MTU/MAC.
    if (!/^[0-9a-fA-F]/.test(d)) throw unrepresentable('options.network.dns', 'does not start with a hex digit, which ip_to_var needs to see a DNS server', d);
    line += `:${ipField(d)}`;
  }
  out.push(line);
  return out;
}

// ---------------------------------------------------------------- entry

function isSession(x: object): x is KernelSession {
  const s = x as Partial<KernelSession>;
  return typeof s.sid === 'number' && Array.isArray(s.disks);
}

function isFirmwareNode(x: object): x is FirmwareNode {
  const f = x as Partial<FirmwareNode>;
  return typeof f.source === 'string' && typeof f.boot === 'boolean';
}

function checkParams(params: unknown): string[] {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidArg('options.params', params, 'must be an object of name/value pairs');
  }
  const out: string[] = [];
  for (const [name, raw] of Object.entries(params)) {
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw invalidArg('options.params', name, 'names must be open-iscsi setting names like node.session.timeo.replacement_timeout');
    if (typeof raw !== 'string' && typeof raw !== 'number') throw invalidArg(`options.params.${name}`, raw, 'must be a string or number');
    const value = String(raw);
    if (value.length === 0) throw invalidArg(`options.params.${name}`, raw, 'must not be empty');
    // iscsiroot.sh: for p in $(getargs rd.iscsi.param) ... --name=${p%=*} --value=${p#*=}
    // -- the name ends at the last '=', the value starts after the first.
    checkField(`options.params.${name}`, value, { separators: '=', unquoted: true });
    out.push(`rd.iscsi.param=${name}=${value}`);
  }
  return out;
}

const NETROOT_ONLY: Array<keyof DracutArgsOptions> = ['auth', 'lun', 'netdev', 'ifaceName', 'params'];

/**
 * The kernel command-line arguments for dracut to boot from `source`.
 *
 * - KernelSession (default) -> `rd.iscsi.initiator=<name>` (when known),
 *   `netroot=iscsi:[creds@]<server>::<port>[:<iface>:<netdev>]:<lun>:<target>`,
 *   network arguments, `rd.neednet=1`.
 * - FirmwareNode (default), or `options.firmware: true` -> `rd.iscsi.firmware=1`
 *   (dracut logs in with `iscsiadm -m fw`, CHAP from the table), plus
 *   `rd.iscsi.ibft=1` for `network: 'ibft'` (the current name of the
 *   deprecated `ip=ibft`, as dracut's own host-only mode writes it) and
 *   `rd.neednet=1` unless the node is an offload HBA.
 *
 * Credentials are written only when `options.auth` is given: whatever is on
 * the kernel command line is readable by every user through /proc/cmdline.
 *
 * Throws IscsiError DRACUT_UNREPRESENTABLE (naming the field and the reason,
 * never a secret) for values dracut cannot carry, and ERR_INVALID_ARG_VALUE
 * for malformed arguments. Pure: no I/O, so no signal/timeout options.
 */
export function dracutArgs(source: KernelSession | FirmwareNode, options: DracutArgsOptions = {}): string[] {
  if (typeof source !== 'object' || source === null) throw invalidArg('source', source, 'must be a KernelSession or FirmwareNode');
  if (typeof options !== 'object' || options === null) throw invalidArg('options', options, 'must be an object');
  const session = isSession(source) ? source : null;
  const fwNode = session === null && isFirmwareNode(source) ? source : null;
  if (session === null && fwNode === null) {
    throw invalidArg('source', source, 'must be a KernelSession (from the sysfs session list) or a FirmwareNode (from discoverFirmware)');
  }
  if (options.firmware !== undefined && typeof options.firmware !== 'boolean') {
    throw invalidArg('options.firmware', options.firmware, 'must be a boolean');
  }
  const firmware = options.firmware ?? fwNode !== null;
  const offload = fwNode !== null && (fwNode.source.startsWith('iscsi_boot') || (fwNode.iface !== 'default' && fwNode.iface !== ''));

  const args: string[] = [];

  const initiator = options.initiatorName ?? session?.initiatorName ?? null;
  if (initiator !== null && initiator !== undefined) {
    requireString('options.initiatorName', initiator);
    // parse-iscsiroot.sh writes it to /run/initiatorname.iscsi; iscsiroot.sh
    // passes it unquoted as --value=$iscsi_initiator.
    checkField('initiatorName', initiator, { unquoted: true });
    args.push(`rd.iscsi.initiator=${initiator}`);
  }

  if (firmware) {
    for (const k of NETROOT_ONLY) {
      if (options[k] !== undefined && options[k] !== null) {
        throw invalidArg(`options.${k}`, options[k], 'is not used by firmware boots (rd.iscsi.firmware reads the firmware table)');
      }
    }
    // parse-iscsiroot.sh: getargbool 0 rd.iscsi.firmware -d -y iscsi_firmware
    args.push('rd.iscsi.firmware=1');
  } else {
    const src = (session ?? fwNode) as KernelSession | FirmwareNode;
    let lun: number;
    if (options.lun !== undefined) {
      lun = checkLun('options.lun', options.lun);
    } else if (session !== null) {
      const luns = session.disks.map((d) => d.lun).filter((l) => Number.isSafeInteger(l) && l >= 0);
      lun = luns.length > 0 ? Math.min(...luns) : 0;
    } else {
      lun = fwNode?.lun ?? 0;
    }
    if (options.ifaceName !== undefined) requireString('options.ifaceName', options.ifaceName);
    const ifaceRaw = options.ifaceName ?? src.iface ?? 'default';
    const iface = ifaceRaw === 'default' || ifaceRaw === '' ? null : ifaceRaw;
    let netdev: string | null = null;
    if (options.netdev !== undefined) {
      netdev = requireString('options.netdev', options.netdev);
      if (iface === null) {
        // iscsiroot.sh sets iface.net_ifacename only inside "if [ -n "$iscsi_iface_name" ]".
        throw unrepresentable('options.netdev', "needs a named open-iscsi iface (options.ifaceName): dracut binds a netdev only through one, never the 'default' iface", netdev);
      }
    }
    const auth = options.auth === undefined || options.auth === null ? null : checkAuth(options.auth);
    args.push(buildNetroot({ address: src.address, port: src.port ?? DEFAULT_PORT, target: src.target, lun, iface, netdev, auth }));
  }

  const network = options.network;
  if (network === 'ibft') {
    if (offload) {
      // 95iscsi/module-setup.sh install_ibft: no rd.iscsi.ibft for offload
      // (bnx2i); the HBA's network is not a Linux interface.
      throw unrepresentable('options.network', "is 'ibft' but the firmware node is an offload HBA; dracut's rd.iscsi.ibft configures Linux NICs only");
    }
    // 35network-legacy/parse-ibft.sh: getargbool 0 rd.iscsi.ibft -d "ip=ibft"
    args.push('rd.iscsi.ibft=1');
  } else if (network === 'dhcp') {
    const dev = options.netdev ?? fwNode?.ifaceName ?? null;
    args.push(...interfaceArgs({ dhcp: true, ip: null, prefixLength: null, netmask: null, gateway: null, hostname: null, ifaceName: dev, mac: null, dns: [], vlan: 0 }, null));
  } else if (typeof network === 'object' && network !== null) {
    args.push(...interfaceArgs(normalizeInterface(network), fwNode?.ifaceName ?? null));
  } else if (network !== undefined && network !== null) {
    throw invalidArg('options.network', network, "must be an interface configuration, 'dhcp', 'ibft' or null");
  }

  if (!firmware && options.params !== undefined && options.params !== null) args.push(...checkParams(options.params));

  // dracut's host-only mode writes rd.neednet=1 with every netroot
  // (95iscsi/module-setup.sh install_iscsiroot); offload HBAs bring their own link.
  if (!offload) args.push('rd.neednet=1');
  return args;
}
