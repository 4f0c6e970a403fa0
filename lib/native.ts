/**
 * The native binding's surface, typed at the single place it is loaded.
 *
 * The addon (native/addon) exposes one class, `NativeSession`, wrapping one
 * C `isc_ctx` (one iSCSI session over one TCP connection). It is driven by a
 * uv_poll + uv_timer on the calling thread's event loop: no method blocks and
 * no libuv pool thread waits on the network. Every async method returns a
 * Promise that rejects with an Error carrying the properties of
 * `NativeErrorInfo`.
 *
 * Only this file and the facade modules may touch the binding; users see the
 * typed API in index.ts.
 */
import * as path from 'node:path';

export type NativeDigest = 'none' | 'crc32c' | 'prefer-crc32c' | 'prefer-none';

export interface NativeSessionConfig {
  sessionType: 'discovery' | 'normal';
  initiatorName: string;
  initiatorAlias?: string;
  /** Required for 'normal' sessions. */
  targetName?: string;
  /** Numeric IPv4/IPv6 address (no brackets; IPv6 may carry %scope). */
  address: string;
  port: number;
  /** The portal as the user named it, used in messages and as the default
   * TargetAddress for discovery entries without one. */
  portalText: string;
  /** CHAP. Secrets are Buffers so they can be zeroed after the call; the
   * addon copies them into the core and zeroes its own copies on close. */
  username?: string;
  secret?: Buffer;
  reverseUsername?: string;
  reverseSecret?: Buffer;
  /** CHAP_A preference, e.g. ['SHA3-256', 'SHA256', 'SHA1', 'MD5']. */
  chapAlgorithms?: string[];
  headerDigest?: NativeDigest;
  dataDigest?: NativeDigest;
  maxRecvDataSegmentLength?: number;
  maxBurstLength?: number;
  firstBurstLength?: number;
  loginTimeoutMs?: number;
  commandTimeoutMs?: number;
  logoutTimeoutMs?: number;
  maxRedirects?: number;
  /** 0 error .. 4 trace (one line per PDU header). */
  logLevel?: number;
  /** Called on the JS thread; messages never contain secrets. */
  log?: (level: number, message: string) => void;
  /** Session reinstatement after a connection loss (0 = off). */
  maxReconnects?: number;
  reconnectDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** NOP-Out keepalive after this much receive silence (0 = off). */
  nopIntervalMs?: number;
  nopTimeoutMs?: number;
  /** How long an ABORT TASK may take before the connection is dropped. */
  tmfTimeoutMs?: number;
  /** Busy polling while commands are in flight, in microseconds (0 = off). */
  busyPollUs?: number;
  /** 1: SO_RCVLOWAT receive coalescing (core cfg.rx_coalesce). */
  rxCoalesce?: number;
  /** Connection events, on the JS thread. code: stable error code or ''. */
  onEvent?: (kind: NativeSessionEvent, code: string, attempt: number, message: string, info?: NativeAsyncMessage) => void;
  /** 1: a target's logout request ends the session instead of a re-login. */
  asyncLogoutClose?: number;
}

export type NativeSessionEvent = 'connection-lost' | 'reconnected' | 'session-failed' | 'logged-out' | 'async-message';

/** An Async Message as the core decoded it (core struct isc_async_event). */
export interface NativeAsyncMessage {
  event: number;
  vcode: number;
  /** LUN number, -1 when the LUN field is not single-level. */
  lun: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
  action: 'report' | 'logout' | 'relogin' | 'reconnect' | 'fail';
  delayMs: number;
  sense?: Buffer;
  data: Buffer;
}

export interface NativeErrorInfo {
  /** Stable code, e.g. 'ISCSI_AUTH_FAILED', 'ETIMEDOUT', 'ABORT_ERR'. */
  code: string;
  /** Login status class/detail when the target refused the login. */
  statusClass?: number;
  statusDetail?: number;
  /** errno behind a socket failure. */
  errno?: number;
}

export interface NativePortal {
  address: string;
  port: number;
  tpgt: number;
  hasTpgt: boolean;
  /** true when the target reported no address and the queried portal was used. */
  defaulted: boolean;
}

export interface NativeDiscovery {
  targets: Array<{ name: string; portals: NativePortal[] }>;
  /** Entries dropped as invalid (e.g. names with control characters). */
  rejected: number;
}

export interface NativeNegotiated {
  headerDigest: 'None' | 'CRC32C';
  dataDigest: 'None' | 'CRC32C';
  maxRecvDataSegmentLength: number;
  maxXmitDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  authMethod: 'None' | 'CHAP';
  mutualChap: boolean;
  chapAlgorithm: string | null;
  tsih: number;
  targetPortalGroupTag: number;
  targetAlias: string;
  /** The portal in use after redirects, "addr:port". */
  portal: string;
}

export interface NativeScsiResult {
  /** SCSI status byte; 0 GOOD, 2 CHECK CONDITION... */
  status: number;
  /** iSCSI response code (0 = command completed at target). */
  response: number;
  sense: Buffer;
  data: Buffer;
  residual: number;
  overflow: boolean;
  underflow: boolean;
  /** Bytes received (for io(), where data stays empty: they are in dataIn). */
  dataLength: number;
}

export interface NativeSession {
  /** Connect and log in. */
  login(): Promise<void>;
  /** SendTargets=All (discovery sessions, after login). */
  discover(): Promise<NativeDiscovery>;
  /** One SCSI command (normal sessions, after login). dir: 0 none, 1 read, 2 write. */
  scsi(lun: number, cdb: Buffer, dir: 0 | 1 | 2, dataOut: Buffer | null, inLength: number): Promise<NativeScsiResult>;
  /** Block I/O without copies: sends from dataOut, receives into dataIn,
   * both referenced until the promise settles. The command times out in
   * the core after timeoutMs (0 = session default) with ABORT TASK.
   * Resolves with the bytes received on GOOD status, else the full result. */
  io(
    lun: number,
    cdb: Buffer,
    dir: 0 | 1 | 2,
    dataOut: Buffer | null,
    dataIn: Buffer | null,
    inLength: number,
    timeoutMs: number,
  ): Promise<number | NativeScsiResult>;
  /** Id of the last io() command, for abortTask (0 if it was refused). */
  lastTaskId(): number;
  /** ABORT TASK for one io() command; its promise rejects with the code.
   * false when it already completed. */
  abortTask(id: number, code?: 'ABORT_ERR' | 'ETIMEDOUT'): boolean;
  /** Logout and close the connection. */
  logout(): Promise<void>;
  /** Fail every pending operation with this code ('ABORT_ERR' or 'ETIMEDOUT')
   * and drop the connection. Idempotent; safe at any time. */
  abort(code: 'ABORT_ERR' | 'ETIMEDOUT'): void;
  /** Free the native context (pending operations fail with
   * ISCSI_SESSION_CLOSED). Idempotent. Also runs from the GC finalizer and
   * the environment cleanup hook. */
  close(): void;
  negotiated(): NativeNegotiated | null;
  pendingCount(): number;
}

/** One answer of iscsid (iscsiadm_rsp_t) plus the layout the probe found. */
export interface NativeIscsidResponse {
  command: number;
  /** ISCSI_ERR_* of open-iscsi's include/iscsi_err.h (0 = success). */
  iscsidError: number;
  iscsidErrorName: string;
  /** The library's code for iscsidError, null on success. */
  code: string | null;
  /** CONFIG_INAME / CONFIG_FILE / CONFIG_IALIAS answer. */
  text: string;
  sessionState: number;
  connState: number;
  /** sizeof(iscsiadm_req_t) of the running iscsid. */
  requestSize: number;
  /** open-iscsi releases with that layout, e.g. "2.1.1 - 2.1.10". */
  versions: string;
}

/** The core's iscsid management-IPC client (isc/iscsid.h): one request at a
 * time; each operation probes the daemon's request layout first (a login
 * always does) and refuses unknown layouts with ISCSID_UNSUPPORTED_VERSION. */
export interface NativeIscsid {
  probe(): Promise<NativeIscsidResponse>;
  /** open-iscsi node-record keys and values; rejects with `.key` naming a bad key. */
  login(keys: string[], values: string[]): Promise<NativeIscsidResponse>;
  /** Record-less commands: 2 logout, 7 stats, 8 initiator name, 9 alias, 10 config file, 13 session info. */
  request(command: number, sid: number): Promise<NativeIscsidResponse>;
  /** Abandon the running request; its promise rejects with this code
   * (same contract as NativeSession.abort, so runOperation drives both). */
  abort(code: 'ABORT_ERR' | 'ETIMEDOUT'): void;
  close(): void;
}

export interface NativeBinding {
  NativeSession: new (config: NativeSessionConfig) => NativeSession;
  /** socketName: abstract socket name without the leading NUL (default iscsid's). */
  NativeIscsid: new (socketName?: string) => NativeIscsid;
  /** Core error codes for each isc_err, for documentation/tests. */
  errorCodes(): string[];
  /** 'sse4.2' or 'software'. */
  crc32cImplementation(): string;
  coreVersion(): string;
  /** Parses a raw iBFT (the C core's isc_ibft_parse); throws an Error with
   * code 'FIRMWARE_INVALID_TABLE' naming the field on a bad table. */
  parseIbft(buf: Uint8Array): import('./firmware/types').NativeIbftTable;
}

let cached: NativeBinding | undefined;

/** Loads the addon via node-gyp-build (build/Release, then prebuilds/). */
export function loadBinding(): NativeBinding {
  if (!cached) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    cached = load(path.join(__dirname, '..'));
  }
  return cached;
}
