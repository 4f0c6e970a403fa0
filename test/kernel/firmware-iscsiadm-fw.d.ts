/** Types of firmware-iscsiadm-fw.js (the `iscsiadm -m fw` output parser). */
export interface IscsiadmFwRecord {
  version: string;
  /** key ("iface.ipaddress", "node.conn[0].port", ...) -> value text */
  values: Record<string, string>;
}
export interface IscsiadmFwApi {
  node: {
    target: string | undefined;
    address: string | undefined;
    port: number | undefined;
    tpgt: 1;
    iface: string;
    lunText: string | null;
    ifaceName: string | null;
  };
  auth?: { username: string; password: string; reverseUsername?: string; reversePassword?: string };
  net: {
    bootproto: string | null;
    ifaceName: string | null;
    mac: string | null;
    ip: string | null;
    prefixLength: number | null;
    netmask: string | null;
    gateway: string | null;
    dns: string[];
    vlan: number;
  };
  initiatorName: string | null;
}
export function parseIscsiadmFw(text: string): IscsiadmFwRecord[];
export function recordToApi(rec: IscsiadmFwRecord): IscsiadmFwApi;
export const SECRET_KEYS: readonly string[];
export const REDACTED: string;
