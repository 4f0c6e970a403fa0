/**
 * Types shared by the kernel-session side of the library (issue 4): iscsid
 * logins, sysfs session listing, the open-iscsi node database and dracut
 * arguments. Kept in one file so the readers and writers agree on shapes.
 */
import type { OperationOptions } from '../options';

/** One open-iscsi node: a target reached through one portal and one iface. */
export interface Node {
  /** Target IQN / EUI / NAA name. */
  target: string;
  /** Portal address: IPv4 dotted quad or IPv6 (no brackets). */
  address: string;
  /** TCP port, default 3260. */
  port?: number;
  /** Target portal group tag; -1 or absent when unknown (open-iscsi "old style" record). */
  tpgt?: number;
  /** open-iscsi iface name, default "default". */
  iface?: string;
}

/** CHAP credentials for a kernel login (node.session.auth.*). */
export interface Chap {
  username: string;
  password: string;
  /** Mutual CHAP: the name the target must answer with. */
  reverseUsername?: string;
  /** Mutual CHAP: the target's secret. */
  reversePassword?: string;
}

/** One LUN of a kernel session and the block device it became. */
export interface KernelDisk {
  lun: number;
  /** SCSI address "H:C:T:L". */
  hctl: string;
  /** '/dev/sdb', or null while the block device has not been registered yet. */
  device: string | null;
  /** '/dev/disk/by-path/ip-<addr>:<port>-iscsi-<target>-lun-<N>' (the udev name; may not exist without udev). */
  byPath: string;
  /** Size in bytes (sysfs block size × 512), null when unknown. */
  size: number | null;
}

/** A kernel iSCSI session as sysfs shows it (/sys/class/iscsi_session/sessionN). */
export interface KernelSession {
  /** Session id N of /sys/class/iscsi_session/sessionN. */
  sid: number;
  target: string;
  /** Persistent (configured) portal address of connection 0. */
  address: string;
  port: number;
  tpgt: number;
  /** open-iscsi iface name ("default" for software iSCSI). */
  iface: string;
  /** Session state: 'LOGGED_IN', 'FAILED', 'FREE'. */
  state: string;
  /** SCSI host number (hostH). */
  host: number | null;
  /** Initiator name the session logged in with. */
  initiatorName: string | null;
  disks: KernelDisk[];
}

/** Options of every kernel-side call. `root` points readers at a fixture tree (default '/'). */
export interface KernelOptions extends OperationOptions {
  root?: string;
}
