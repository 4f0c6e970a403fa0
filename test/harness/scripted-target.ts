/**
 * A scripted iSCSI target on node:net, for behaviour tgtd cannot be made to
 * show on demand: holding a command, answering (or ignoring) ABORT TASK with
 * a chosen response, ignoring NOP-Out pings, dropping the connection while a
 * command is in flight, Data-In and R2T PDUs that break the rules (holes,
 * overlaps, wrong DataSN / R2TSN, lying residuals), Async Messages, and a
 * delayed Logout Response.
 *
 * It speaks enough RFC 7143 for the initiator to run unmodified: normal and
 * discovery logins (AuthMethod=None, operational keys answered by their
 * negotiation rules, section 13), StatSN per connection and ExpCmdSN /
 * MaxCmdSN per session (section 4.2.2), SCSI commands with Data-In phase
 * collapse, immediate / unsolicited / R2T-solicited write data, Task
 * Management, NOP-Out pings, Logout, SendTargets. One LUN (0) backed by a
 * Buffer that survives reconnections, so reissued commands can be checked
 * byte for byte. PDUs are built by hand from section 11 (48-byte BHS,
 * DataSegmentLength in bytes 5..7, data padded to 4 bytes); no digests.
 *
 * Every PDU the tests care about is recorded (logins, commands, TMFs,
 * NOP-Outs, Logouts, R2Ts and Data-Outs) and announced on the emitter, and
 * waitFor() turns those into promises.
 */
import * as net from 'node:net';
import { EventEmitter } from 'node:events';

export const Op = {
  NOP_OUT: 0x00,
  SCSI_CMD: 0x01,
  TMF_REQ: 0x02,
  LOGIN_REQ: 0x03,
  TEXT_REQ: 0x04,
  DATA_OUT: 0x05,
  LOGOUT_REQ: 0x06,
  NOP_IN: 0x20,
  SCSI_RSP: 0x21,
  TMF_RSP: 0x22,
  LOGIN_RSP: 0x23,
  TEXT_RSP: 0x24,
  DATA_IN: 0x25,
  LOGOUT_RSP: 0x26,
  R2T: 0x31,
  ASYNC_MSG: 0x32,
} as const;

export const RESERVED_TAG = 0xffffffff;

/** Task Management Function Response codes (RFC 7143 11.6.1). */
export const TmfResponse = {
  FUNCTION_COMPLETE: 0,
  TASK_DOES_NOT_EXIST: 1,
  LUN_DOES_NOT_EXIST: 2,
  TASK_STILL_ALLEGIANT: 3,
  REASSIGNMENT_NOT_SUPPORTED: 4,
  FUNCTION_NOT_SUPPORTED: 5,
  AUTHORIZATION_FAILED: 6,
  FUNCTION_REJECTED: 255,
} as const;

export interface Pdu {
  bhs: Buffer;
  data: Buffer;
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** key=value\0 ... (RFC 7143 6.1). Values are latin1 so any byte survives. */
export function textData(pairs: Array<[string, string]>): Buffer {
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'latin1');
}

export function parseText(data: Buffer): Array<[string, string]> {
  return data
    .toString('latin1')
    .split('\0')
    .filter((s) => s.length > 0)
    .map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
    });
}

/** A whole PDU: the BHS with DataSegmentLength filled in, data padded. */
export function pdu(bhs: Buffer, data: Buffer = Buffer.alloc(0)): Buffer {
  bhs.writeUIntBE(data.length, 5, 3);
  const out = Buffer.alloc(48 + pad4(data.length));
  bhs.copy(out, 0, 0, 48);
  data.copy(out, 48);
  return out;
}

/** Limits the target applies when answering operational keys. */
export interface TargetLimits {
  /** What we accept per PDU (declared to the initiator). */
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  /** Our own InitialR2T / ImmediateData preferences. */
  initialR2T: boolean;
  immediateData: boolean;
}

const DEFAULT_LIMITS: TargetLimits = {
  maxRecvDataSegmentLength: 65536,
  maxBurstLength: 262144,
  firstBurstLength: 65536,
  initialR2T: false,
  immediateData: true,
};

function numberOr(v: string, dflt: number): number {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

/**
 * Answers the operational keys an initiator offered, by each key's result
 * function (RFC 7143 section 13): MIN keys get min(offer, ours), MAX keys
 * max(offer, ours), OR/AND booleans the combined value, declarative keys our
 * own declaration. Returns the answers and the values now in force.
 */
export function negotiateKeys(
  offered: Array<[string, string]>,
  limits: TargetLimits,
  discovery: boolean,
): { answers: Array<[string, string]>; initiatorMrdsl: number; negotiated: Map<string, string> } {
  const answers: Array<[string, string]> = [];
  const negotiated = new Map<string, string>();
  let initiatorMrdsl = 8192; // RFC 7143 13.12 default
  const yes = (b: boolean): string => (b ? 'Yes' : 'No');
  for (const [k, v] of offered) {
    let a: string | undefined;
    switch (k) {
      case 'InitiatorName':
      case 'InitiatorAlias':
      case 'SessionType':
      case 'TargetName':
      case 'AuthMethod':
        break; // declarations / security keys, handled by the caller
      case 'HeaderDigest':
      case 'DataDigest':
        // We implement no digests; None is in every sensible offer.
        a = v.split(',').includes('None') ? 'None' : 'Reject';
        break;
      case 'MaxRecvDataSegmentLength':
        initiatorMrdsl = numberOr(v, 8192);
        a = String(limits.maxRecvDataSegmentLength);
        break;
      case 'MaxConnections':
        a = discovery ? 'Irrelevant' : '1';
        break;
      case 'InitialR2T': // OR
        a = discovery ? 'Irrelevant' : yes(v === 'Yes' || limits.initialR2T);
        break;
      case 'ImmediateData': // AND
        a = discovery ? 'Irrelevant' : yes(v === 'Yes' && limits.immediateData);
        break;
      case 'DataPDUInOrder': // OR, we want Yes
      case 'DataSequenceInOrder':
        a = discovery ? 'Irrelevant' : 'Yes';
        break;
      case 'MaxBurstLength': // MIN
        a = discovery ? 'Irrelevant' : String(Math.min(numberOr(v, 262144), limits.maxBurstLength));
        break;
      case 'FirstBurstLength': // MIN
        a = discovery ? 'Irrelevant' : String(Math.min(numberOr(v, 65536), limits.firstBurstLength));
        break;
      case 'DefaultTime2Wait': // MAX
      case 'DefaultTime2Retain': // MIN
        a = v; // any offered value is fine here: echo it
        break;
      case 'MaxOutstandingR2T': // MIN
        a = discovery ? 'Irrelevant' : '1';
        break;
      case 'ErrorRecoveryLevel': // MIN
        a = '0';
        break;
      case 'IFMarker':
      case 'OFMarker':
        a = 'No';
        break;
      default:
        a = 'NotUnderstood';
    }
    if (a !== undefined) {
      answers.push([k, a]);
      negotiated.set(k, a);
    }
  }
  return { answers, initiatorMrdsl, negotiated };
}

// ------------------------------------------------------------ records

export interface LoginRecord {
  conn: Connection;
  isid: string; // 12 hex digits
  tsih: number; // as sent by the initiator (0 = new session / reinstatement)
  cid: number;
  cmdSN: number;
  initiatorName: string;
  targetName?: string;
  sessionType: string;
  /** Another session with this ISID and initiator name existed before. */
  reinstatement: boolean;
  /** TSIH we assigned on the final response (0 until then). */
  assignedTsih: number;
  /** Every key the initiator sent during this login, in order. */
  keys: Array<[string, string]>;
}

export interface CommandRecord {
  conn: Connection;
  itt: number;
  cmdSN: number;
  immediate: boolean;
  lun: number;
  cdb: Buffer;
  opcode: number;
  edtl: number;
  read: boolean;
  write: boolean;
  /** Write data as received so far. */
  dataOut: Buffer;
  received: number;
  held: boolean;
  /** Aborted by a TMF: never answered. */
  aborted: boolean;
  answered: boolean;
  /** Status we answered with (once answered). */
  status?: number;
}

export interface TmfRecord {
  conn: Connection;
  itt: number;
  immediate: boolean;
  function: number;
  lun: number;
  referencedTaskTag: number;
  cmdSN: number;
  refCmdSN: number;
  /** ExpCmdSN of the session when the TMF arrived. */
  expCmdSNAtArrival: number;
  /** What we answered; null = ignored. */
  response: number | null;
}

export interface NopRecord {
  conn: Connection;
  itt: number;
  ttt: number;
  immediate: boolean;
  final: boolean;
  cmdSN: number;
  answered: boolean;
}

export interface LogoutRecord {
  conn: Connection;
  itt: number;
  immediate: boolean;
  /** Reason code (RFC 7143 11.14.1): 0 close the session, 1 close the
   * connection, 2 remove the connection for recovery. */
  reason: number;
  cid: number;
  cmdSN: number;
  /** ITTs of the commands this connection had not answered when the
   * Logout Request arrived (held, or waiting for write data). */
  openTasks: number[];
  answered: boolean;
}

/** How the target answers Logout Requests (RFC 7143 11.15). */
export interface LogoutAnswer {
  /** Response code, byte 2; default 0 (connection or session closed). */
  response?: number;
  /** Time2Wait / Time2Retain in seconds (bytes 40-41 / 42-43); default 0. */
  time2wait?: number;
  time2retain?: number;
  /** Answer this much later (the connection stays open meanwhile). */
  delayMs?: number;
}

export interface R2tRecord {
  conn: Connection;
  itt: number;
  ttt: number;
  r2tSN: number;
  offset: number;
  length: number;
}

/** What an R2T asks for; the target's r2t hook may change any of it. */
export interface R2tFields {
  offset: number;
  length: number;
  r2tSN: number;
}

export interface DataOutRecord {
  conn: Connection;
  itt: number;
  ttt: number;
  dataSN: number;
  offset: number;
  length: number;
  final: boolean;
  /** The write it belongs to, if the target still knew the ITT. */
  cmd?: CommandRecord;
}

/** One Data-In PDU of a DataInPlan (RFC 7143 11.7). */
export interface DataInPduPlan {
  /** Buffer Offset (bytes 40..43). */
  offset: number;
  /** Payload: `bytes`, else `length` bytes of the command's data from
   * `offset` (filled with 0xee past its end). */
  length?: number;
  bytes?: Buffer;
  /** Default: the PDU's index in the plan (consecutive from 0). */
  dataSN?: number;
  /** F bit; default on the last PDU and on any PDU with status. */
  final?: boolean;
  /** S bit (phase collapse); default on the last PDU unless the plan ends
   * with a separate SCSI Response. */
  status?: boolean;
  /** Status byte with S; default 0 (GOOD). */
  statusByte?: number;
  /** Residual Count (bytes 44..47) and the U / O bits, with S. */
  residual?: number;
  underflow?: boolean;
  overflow?: boolean;
}

/** A SCSI Response after the Data-In of a plan (RFC 7143 11.4). */
export interface ScsiResponsePlan {
  status: number;
  residual?: number;
  underflow?: boolean;
  overflow?: boolean;
  sense?: Buffer;
  /** ExpDataSN (bytes 36..39); default one past the highest DataSN sent. */
  expDataSN?: number;
}

export interface DataInPlan {
  pdus: DataInPduPlan[];
  response?: ScsiResponsePlan;
}

/** An Async Message to send (RFC 7143 11.9). */
export interface AsyncMessage {
  /** AsyncEvent (byte 36). */
  event: number;
  /** AsyncVCode (byte 37). */
  vcode?: number;
  lun?: number;
  parameter1?: number;
  parameter2?: number;
  parameter3?: number;
  /** The data segment as is; for AsyncEvent 0 see `sense`. */
  data?: Buffer;
  /** AsyncEvent 0: sense data, sent as SenseLength + sense (11.9.4). */
  sense?: Buffer;
}

/** Contiguous Data-In PDUs of `size` bytes covering `total` bytes. */
export function dataInPdus(total: number, size: number): DataInPduPlan[] {
  const out: DataInPduPlan[] = [];
  for (let off = 0; off < total; off += size) out.push({ offset: off, length: Math.min(size, total - off) });
  return out;
}

export interface ScriptedTargetOptions {
  targetName?: string;
  blocks?: number;
  blockLength?: number;
  limits?: Partial<TargetLimits>;
  /** Commands the target queues beyond ExpCmdSN (MaxCmdSN - ExpCmdSN + 1). */
  cmdWindow?: number;
  /** SendTargets answer for discovery sessions. */
  sendTargets?: Buffer;
  /** After a session reinstatement, the first SCSI command (other than
   * INQUIRY / REPORT LUNS / REQUEST SENSE) gets CHECK CONDITION, UNIT
   * ATTENTION, I_T NEXUS LOSS OCCURRED (SAM-5 5.14, ASC/ASCQ 29h/07h), as
   * real targets report it. */
  unitAttentionOnReinstatement?: boolean;
}

/** The pattern the LUN starts with: every 4-byte word is its byte offset
 * xor a constant, so a block read from the wrong LBA cannot pass. */
export function initialPattern(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let off = 0; off + 4 <= bytes; off += 4) b.writeUInt32BE((off ^ 0x5a5a5a5a) >>> 0, off);
  return b;
}

// ------------------------------------------------------------ connection

/** One TCP connection (MaxConnections=1, so also the session: CmdSN
 * numbering lives here). */
export class Connection {
  readonly id: number;
  /** NOP-Out pings are answered while true. */
  answerNops = true;
  loggedIn = false;
  closed = false;
  login?: LoginRecord;
  statSN: number;
  expCmdSN = 0;
  /** Commands that arrived with a CmdSN other than ExpCmdSN. */
  sequenceErrors = 0;
  sessionType = 'Normal';
  initiatorMrdsl = 8192;
  maxBurstLength = 262144;
  firstBurstLength = 65536;
  initialR2T = true;
  immediateData = true;
  pendingUnitAttention = false;
  /** Commands the target knows and has not answered (held, or waiting
   * for write data), by ITT. */
  readonly tasks = new Map<number, CommandRecord>();
  #rx = Buffer.alloc(0);
  #loginText: Buffer[] = [];
  #nextTtt = 1;
  #r2tSN = new Map<number, number>();

  constructor(
    private readonly target: ScriptedTarget,
    readonly socket: net.Socket,
    id: number,
  ) {
    this.id = id;
    // Each connection starts its StatSN somewhere else, so a mix-up between
    // connections shows.
    this.statSN = 0x1000 * id + 7;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      target.emit('connection-closed', this);
    });
  }

  /** Closes the TCP connection at once (no Logout, no Async Message). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  get maxCmdSN(): number {
    return (this.expCmdSN + this.target.cmdWindow - 1) >>> 0;
  }

  #onData(chunk: Buffer): void {
    this.#rx = Buffer.concat([this.#rx, chunk]);
    while (this.#rx.length >= 48 && !this.closed) {
      const ahs = this.#rx[4] * 4;
      const dlen = this.#rx.readUIntBE(5, 3);
      const total = 48 + ahs + pad4(dlen);
      if (this.#rx.length < total) break;
      const bhs = Buffer.from(this.#rx.subarray(0, 48));
      const data = Buffer.from(this.#rx.subarray(48 + ahs, 48 + ahs + dlen));
      this.#rx = this.#rx.subarray(total);
      this.#handle({ bhs, data });
    }
  }

  #send(bhs: Buffer, data?: Buffer): void {
    if (!this.closed) this.socket.write(pdu(bhs, data));
  }

  /** BHS of a target PDU with the session's window. `advance`: the PDU
   * carries a fresh StatSN (responses with status); else StatSN is the
   * next one without using it up (R2T, Data-In without status). */
  #hdr(op: number, flags: number, itt: number, advance: boolean): Buffer {
    const b = Buffer.alloc(48);
    b[0] = op;
    b[1] = flags;
    b.writeUInt32BE(itt >>> 0, 16);
    b.writeUInt32BE(this.statSN >>> 0, 24);
    if (advance) this.statSN = (this.statSN + 1) >>> 0;
    b.writeUInt32BE(this.expCmdSN >>> 0, 28);
    b.writeUInt32BE(this.maxCmdSN, 32);
    return b;
  }

  #handle(req: Pdu): void {
    const op = req.bhs[0] & 0x3f;
    const immediate = (req.bhs[0] & 0x40) !== 0;
    if (op === Op.LOGIN_REQ) {
      this.#onLogin(req);
      return;
    }
    if (!this.loggedIn) {
      // Only Login Requests before the Full Feature Phase (RFC 7143 6.3).
      this.destroy();
      return;
    }
    // Commands with a CmdSN: a non-immediate one is the next in order and
    // advances ExpCmdSN on arrival (RFC 7143 4.2.2.1). One TCP connection
    // keeps them in order, so anything else is an initiator bug.
    if (op !== Op.DATA_OUT && !immediate) {
      const cmdSN = req.bhs.readUInt32BE(24);
      if (cmdSN === this.expCmdSN) this.expCmdSN = (this.expCmdSN + 1) >>> 0;
      else this.sequenceErrors++;
    }
    switch (op) {
      case Op.SCSI_CMD:
        this.#onScsi(req, immediate);
        break;
      case Op.DATA_OUT:
        this.#onDataOut(req);
        break;
      case Op.TMF_REQ:
        this.#onTmf(req, immediate);
        break;
      case Op.NOP_OUT:
        this.#onNop(req, immediate);
        break;
      case Op.TEXT_REQ: {
        const b = this.#hdr(Op.TEXT_RSP, 0x80, req.bhs.readUInt32BE(16), true);
        b.writeUInt32BE(RESERVED_TAG, 20);
        const st = parseText(req.data).some(([k]) => k === 'SendTargets');
        this.#send(b, st ? this.target.options.sendTargets ?? Buffer.alloc(0) : Buffer.alloc(0));
        break;
      }
      case Op.LOGOUT_REQ:
        this.#onLogout(req, immediate);
        break;
      default:
        this.destroy();
    }
  }

  // -------------------------------------------------------- login

  #onLogin(req: Pdu): void {
    const h = req.bhs;
    const transit = (h[1] & 0x80) !== 0;
    const cont = (h[1] & 0x40) !== 0;
    const csg = (h[1] >> 2) & 3;
    const nsg = h[1] & 3;
    const itt = h.readUInt32BE(16);
    if (this.loggedIn) {
      this.destroy();
      return;
    }
    if (!this.login) {
      // The leading Login Request: the session's first CmdSN.
      this.expCmdSN = h.readUInt32BE(24);
      this.login = {
        conn: this,
        isid: h.subarray(8, 14).toString('hex'),
        tsih: h.readUInt16BE(14),
        cid: h.readUInt16BE(20),
        cmdSN: h.readUInt32BE(24),
        initiatorName: '',
        sessionType: 'Normal',
        reinstatement: false,
        assignedTsih: 0,
        keys: [],
      };
    }
    const lg = this.login;
    const respond = (flags: number, pairs: Array<[string, string]>, tsih = 0, cls = 0, detail = 0): void => {
      const b = this.#hdr(Op.LOGIN_RSP, flags, itt, true);
      h.copy(b, 8, 8, 14); // ISID
      b.writeUInt16BE(tsih, 14);
      b[36] = cls;
      b[37] = detail;
      this.#send(b, textData(pairs));
    };
    this.#loginText.push(req.data);
    if (cont) {
      // More text follows: acknowledge with an empty response (RFC 7143 11.12.2).
      respond(csg << 2, []);
      return;
    }
    const keys = parseText(Buffer.concat(this.#loginText));
    this.#loginText = [];
    lg.keys.push(...keys);
    const get = (k: string): string | undefined => keys.find(([kk]) => kk === k)?.[1];
    if (!lg.initiatorName && get('InitiatorName') !== undefined) {
      lg.initiatorName = get('InitiatorName') ?? '';
      lg.sessionType = get('SessionType') ?? 'Normal';
      lg.targetName = get('TargetName');
      this.sessionType = lg.sessionType;
      if (lg.sessionType !== 'Discovery' && lg.targetName !== this.target.targetName) {
        respond(0, [], 0, 0x02, 0x03); // initiator error: target not found
        this.socket.end();
        return;
      }
      if (lg.tsih !== 0) {
        respond(0, [], 0, 0x02, 0x0a); // session does not exist (we add no connections)
        this.socket.end();
        return;
      }
      this.target.recordLogin(lg);
    }
    const discovery = this.sessionType === 'Discovery';
    const answers: Array<[string, string]> = [];
    if (csg === 0) {
      const am = get('AuthMethod');
      if (am !== undefined) answers.push(['AuthMethod', am.split(',').includes('None') ? 'None' : 'Reject']);
      if (!discovery && get('InitiatorName') !== undefined) answers.push(['TargetPortalGroupTag', '1']);
    }
    const neg = negotiateKeys(keys, this.target.limits, discovery);
    if (csg === 1 || neg.answers.length) {
      answers.push(...neg.answers);
      if (keys.some(([k]) => k === 'MaxRecvDataSegmentLength')) this.initiatorMrdsl = neg.initiatorMrdsl;
      const n = neg.negotiated;
      if (n.has('MaxBurstLength')) this.maxBurstLength = Number(n.get('MaxBurstLength'));
      if (n.has('FirstBurstLength')) this.firstBurstLength = Number(n.get('FirstBurstLength'));
      if (n.has('InitialR2T')) this.initialR2T = n.get('InitialR2T') === 'Yes';
      if (n.has('ImmediateData')) this.immediateData = n.get('ImmediateData') === 'Yes';
    }
    if (transit && nsg === 3) {
      lg.assignedTsih = this.target.newTsih();
      this.loggedIn = true;
      respond(0x80 | (csg << 2) | 3, answers, lg.assignedTsih);
      if (lg.reinstatement && this.target.options.unitAttentionOnReinstatement) this.pendingUnitAttention = true;
      this.target.emit('logged-in', lg);
      return;
    }
    respond((transit ? 0x80 | nsg : 0) | (csg << 2), answers);
  }

  // -------------------------------------------------------- SCSI

  #onScsi(req: Pdu, immediate: boolean): void {
    const h = req.bhs;
    const cdbLen = 16;
    const cdb = Buffer.from(h.subarray(32, 32 + cdbLen));
    const cmd: CommandRecord = {
      conn: this,
      itt: h.readUInt32BE(16),
      cmdSN: h.readUInt32BE(24),
      immediate,
      lun: decodeLun(h.subarray(8, 16)),
      cdb,
      opcode: cdb[0],
      edtl: h.readUInt32BE(20),
      read: (h[1] & 0x40) !== 0,
      write: (h[1] & 0x20) !== 0,
      dataOut: Buffer.alloc(0),
      received: 0,
      held: false,
      aborted: false,
      answered: false,
    };
    this.tasks.set(cmd.itt, cmd);
    if (cmd.write) {
      cmd.dataOut = Buffer.alloc(cmd.edtl);
      req.data.copy(cmd.dataOut, 0, 0, Math.min(req.data.length, cmd.edtl));
      cmd.received = Math.min(req.data.length, cmd.edtl);
      // F=0: unsolicited Data-Out follows; wait for its final PDU.
      if ((h[1] & 0x80) === 0) return;
      if (cmd.received < cmd.edtl) {
        this.#sendR2t(cmd);
        return;
      }
    }
    this.#ready(cmd);
  }

  #onDataOut(req: Pdu): void {
    const h = req.bhs;
    const cmd = this.tasks.get(h.readUInt32BE(16));
    const off = h.readUInt32BE(40);
    this.target.recordDataOut({
      conn: this,
      itt: h.readUInt32BE(16),
      ttt: h.readUInt32BE(20),
      dataSN: h.readUInt32BE(36),
      offset: off,
      length: req.data.length,
      final: (h[1] & 0x80) !== 0,
      cmd,
    });
    if (!cmd || !cmd.write) return; // aborted meanwhile: data no longer wanted
    req.data.copy(cmd.dataOut, off, 0, Math.max(0, Math.min(req.data.length, cmd.edtl - off)));
    cmd.received += req.data.length;
    if ((h[1] & 0x80) === 0) return; // more of this sequence follows
    if (cmd.received < cmd.edtl) this.#sendR2t(cmd);
    else this.#ready(cmd);
  }

  /** Solicits the next burst (MaxOutstandingR2T=1, RFC 7143 11.8); the
   * target's r2t hook may bend what it asks for. */
  #sendR2t(cmd: CommandRecord): void {
    const sn = this.#r2tSN.get(cmd.itt) ?? 0;
    this.#r2tSN.set(cmd.itt, sn + 1);
    const fields: R2tFields = { offset: cmd.received, length: Math.min(this.maxBurstLength, cmd.edtl - cmd.received), r2tSN: sn };
    Object.assign(fields, this.target.r2t?.(cmd, { ...fields }, this));
    const ttt = this.#nextTtt++ >>> 0;
    const b = this.#hdr(Op.R2T, 0x80, cmd.itt, false);
    putLun(b, cmd.lun);
    b.writeUInt32BE(ttt, 20);
    b.writeUInt32BE(fields.r2tSN >>> 0, 36);
    b.writeUInt32BE(fields.offset >>> 0, 40);
    b.writeUInt32BE(fields.length >>> 0, 44);
    this.target.recordR2t({ conn: this, itt: cmd.itt, ttt, ...fields });
    this.#send(b);
  }

  /** All of the command is here: hold it or run it. */
  #ready(cmd: CommandRecord): void {
    this.#r2tSN.delete(cmd.itt);
    cmd.held = this.target.shouldHold(cmd);
    this.target.recordCommand(cmd);
    if (!cmd.held && !this.closed && !cmd.aborted) this.execute(cmd);
  }

  /** Runs the command against the LUN and answers it. */
  execute(cmd: CommandRecord): void {
    if (cmd.answered || cmd.aborted || this.closed) return;
    cmd.held = false;
    this.tasks.delete(cmd.itt);
    const r = this.target.run(cmd, this);
    cmd.answered = true;
    cmd.status = r.status;
    if (cmd.read && r.status === 0) {
      const data = r.data ?? Buffer.alloc(0);
      const plan = this.target.dataIn?.(cmd, data, this);
      if (plan) this.#sendDataInPlan(cmd, data, plan);
      else this.#sendDataIn(cmd, data);
    } else this.#sendResponse(cmd, r.status, r.sense);
  }

  /** Data-In with phase collapse: the last PDU carries the status (S bit,
   * RFC 7143 11.7.3). F ends each sequence of at most MaxBurstLength. */
  #sendDataIn(cmd: CommandRecord, all: Buffer): void {
    const data = all.subarray(0, Math.min(all.length, cmd.edtl));
    const residual = cmd.edtl - data.length;
    let off = 0;
    let dataSN = 0;
    let inBurst = 0;
    do {
      const n = Math.min(this.initiatorMrdsl, data.length - off, this.maxBurstLength - inBurst);
      const last = off + n >= data.length;
      inBurst += n;
      const endOfBurst = last || inBurst >= this.maxBurstLength;
      let flags = endOfBurst ? 0x80 : 0;
      if (last) flags |= 0x01 | (residual > 0 ? 0x02 : 0);
      const b = this.#hdr(Op.DATA_IN, flags, cmd.itt, last);
      if (!last) b.writeUInt32BE(0, 24); // StatSN only with status
      // b[3], the status, stays 0 (GOOD): CHECK CONDITION goes out as a
      // SCSI Response with sense instead.
      b.writeUInt32BE(RESERVED_TAG, 20);
      b.writeUInt32BE(dataSN++, 36);
      b.writeUInt32BE(off, 40);
      if (last) b.writeUInt32BE(residual, 44);
      this.#send(b, data.subarray(off, off + n));
      off += n;
      if (endOfBurst) inBurst = 0;
    } while (off < data.length);
  }

  /** Data-In exactly as a test scripted it: no checks, so it can break
   * every rule the initiator must enforce (offsets, DataSN, residuals). */
  #sendDataInPlan(cmd: CommandRecord, data: Buffer, plan: DataInPlan): void {
    let nextDataSN = 0;
    plan.pdus.forEach((p, i) => {
      const last = i === plan.pdus.length - 1;
      const status = p.status ?? (last && !plan.response);
      const final = p.final ?? (last || status);
      const flags = (final ? 0x80 : 0) | (p.overflow ? 0x04 : 0) | (p.underflow ? 0x02 : 0) | (status ? 0x01 : 0);
      const b = this.#hdr(Op.DATA_IN, flags, cmd.itt, status);
      if (!status) b.writeUInt32BE(0, 24); // StatSN only with status
      if (status) b[3] = p.statusByte ?? 0;
      b.writeUInt32BE(RESERVED_TAG, 20);
      const dataSN = p.dataSN ?? i;
      nextDataSN = Math.max(nextDataSN, dataSN + 1);
      b.writeUInt32BE(dataSN >>> 0, 36);
      b.writeUInt32BE(p.offset >>> 0, 40);
      b.writeUInt32BE((p.residual ?? 0) >>> 0, 44);
      this.#send(b, p.bytes ?? payloadAt(data, p.offset, p.length ?? 0));
    });
    const r = plan.response;
    if (r) this.#sendResponse(cmd, r.status, r.sense, { ...r, expDataSN: r.expDataSN ?? nextDataSN });
  }

  #sendResponse(cmd: CommandRecord, status: number, sense?: Buffer, tail: ResponseTail = {}): void {
    const flags = 0x80 | (tail.overflow ? 0x04 : 0) | (tail.underflow ? 0x02 : 0);
    const b = this.#hdr(Op.SCSI_RSP, flags, cmd.itt, true);
    b[2] = 0; // command completed at target
    b[3] = status;
    b.writeUInt32BE((tail.expDataSN ?? 0) >>> 0, 36);
    b.writeUInt32BE((tail.residual ?? 0) >>> 0, 44);
    this.#send(b, sense ? withSenseLength(sense) : Buffer.alloc(0));
  }

  // -------------------------------------------------------- TMF / NOP

  /** What every recorded request shares: ITT (bytes 16..19) and CmdSN
   * (24..27, not used up when immediate). */
  #requestFields(h: Buffer, immediate: boolean): { conn: Connection; itt: number; immediate: boolean; cmdSN: number } {
    return { conn: this, itt: h.readUInt32BE(16), immediate, cmdSN: h.readUInt32BE(24) };
  }

  #onTmf(req: Pdu, immediate: boolean): void {
    const h = req.bhs;
    const tmf: TmfRecord = {
      ...this.#requestFields(h, immediate),
      function: h[1] & 0x7f,
      lun: decodeLun(h.subarray(8, 16)),
      referencedTaskTag: h.readUInt32BE(20),
      refCmdSN: h.readUInt32BE(32),
      expCmdSNAtArrival: this.expCmdSN,
      response: null,
    };
    const policy = this.target.onTmf?.(tmf);
    let response: number | null;
    if (policy !== undefined) response = policy;
    else if (tmf.function === 1) {
      response = this.tasks.has(tmf.referencedTaskTag) ? TmfResponse.FUNCTION_COMPLETE : TmfResponse.TASK_DOES_NOT_EXIST;
    } else if (tmf.function === 2 || tmf.function === 5 || tmf.function === 6) {
      response = TmfResponse.FUNCTION_COMPLETE; // ABORT TASK SET, LUN RESET, TARGET WARM RESET
    } else {
      response = TmfResponse.FUNCTION_NOT_SUPPORTED;
    }
    tmf.response = response;
    // A completed ABORT TASK ends the task: it is never answered (RFC 7143
    // 4.2.3.3 / SAM-5 7.2).
    if (response === TmfResponse.FUNCTION_COMPLETE && tmf.function === 1) {
      const t = this.tasks.get(tmf.referencedTaskTag);
      if (t) {
        t.aborted = true;
        t.held = false;
        this.tasks.delete(t.itt);
      }
    }
    this.target.recordTmf(tmf);
    if (response === null) return;
    const b = this.#hdr(Op.TMF_RSP, 0x80, tmf.itt, true);
    b[2] = response;
    this.#send(b);
  }

  #onNop(req: Pdu, immediate: boolean): void {
    const h = req.bhs;
    const nop: NopRecord = {
      ...this.#requestFields(h, immediate),
      ttt: h.readUInt32BE(20),
      final: (h[1] & 0x80) !== 0,
      answered: false,
    };
    // ITT 0xffffffff: an answer to a target ping (we send none) - no reply.
    if (nop.itt !== RESERVED_TAG && this.answerNops) {
      const b = this.#hdr(Op.NOP_IN, 0x80, nop.itt, true);
      b.writeUInt32BE(RESERVED_TAG, 20);
      this.#send(b, req.data);
      nop.answered = true;
    }
    this.target.recordNop(nop);
  }

  // -------------------------------------------------------- Logout / Async

  /** Records the Logout Request, answers it (now or after the configured
   * delay) and closes the connection, as a target does once the Logout
   * Response is out (RFC 7143 11.15). */
  #onLogout(req: Pdu, immediate: boolean): void {
    const h = req.bhs;
    const lo: LogoutRecord = {
      ...this.#requestFields(h, immediate),
      reason: h[1] & 0x7f,
      cid: h.readUInt16BE(20),
      openTasks: [...this.tasks.keys()],
      answered: false,
    };
    this.target.recordLogout(lo);
    const how = this.target.logoutAnswer;
    const answer = (): void => {
      if (this.closed) return;
      const b = this.#hdr(Op.LOGOUT_RSP, 0x80, lo.itt, true);
      b[2] = how.response ?? 0;
      b.writeUInt16BE(how.time2wait ?? 0, 40);
      b.writeUInt16BE(how.time2retain ?? 0, 42);
      this.#send(b);
      lo.answered = true;
      // Reason 0 ends the session: a later login with this ISID starts a
      // new one instead of reinstating.
      if (lo.reason === 0 && (how.response ?? 0) === 0 && this.login) this.target.forgetSession(this.login);
      this.loggedIn = false;
      this.socket.end();
    };
    if (how.delayMs) setTimeout(answer, how.delayMs);
    else answer();
  }

  /** Sends an Async Message (RFC 7143 11.9.1). It carries a fresh StatSN,
   * like every target PDU with status. */
  sendAsync(m: AsyncMessage): void {
    const b = this.#hdr(Op.ASYNC_MSG, 0x80, RESERVED_TAG, true);
    putLun(b, m.lun ?? 0);
    b[36] = m.event;
    b[37] = m.vcode ?? 0;
    b.writeUInt16BE(m.parameter1 ?? 0, 38);
    b.writeUInt16BE(m.parameter2 ?? 0, 40);
    b.writeUInt16BE(m.parameter3 ?? 0, 42);
    this.#send(b, m.data ?? (m.sense ? withSenseLength(m.sense) : undefined));
  }
}

interface ResponseTail {
  residual?: number;
  underflow?: boolean;
  overflow?: boolean;
  expDataSN?: number;
}

/** `length` bytes of `data` from `offset`; 0xee where `data` ends, so bytes
 * the LUN does not hold are recognisable. */
function payloadAt(data: Buffer, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length, 0xee);
  if (offset < data.length) data.copy(out, 0, offset, Math.min(data.length, offset + length));
  return out;
}

/** SenseLength + sense data, the data segment of a SCSI Response or an
 * AsyncEvent 0 message (RFC 7143 11.4.7.2). */
function withSenseLength(sense: Buffer): Buffer {
  const data = Buffer.alloc(2 + sense.length);
  data.writeUInt16BE(sense.length, 0);
  sense.copy(data, 2);
  return data;
}

function decodeLun(b: Buffer): number {
  // Single-level peripheral / flat addressing (SAM-5 4.7): 14 bits.
  return ((b[0] & 0x3f) << 8) | b[1];
}

/** LUN field of a target PDU (bytes 8..15), single-level addressing. */
function putLun(bhs: Buffer, lun: number): void {
  bhs[8] = lun < 256 ? 0 : 0x40 | ((lun >> 8) & 0x3f);
  bhs[9] = lun & 0xff;
}

/** Fixed-format sense data (SPC-4 4.5.3). */
export function fixedSense(key: number, asc: number, ascq: number): Buffer {
  const s = Buffer.alloc(18);
  s[0] = 0x70;
  s[2] = key;
  s[7] = 10;
  s[12] = asc;
  s[13] = ascq;
  return s;
}

// ------------------------------------------------------------ target

interface Hold {
  match: (cmd: CommandRecord) => boolean;
  times: number;
}

type Kind = 'login' | 'command' | 'tmf' | 'nop' | 'logout';

export class ScriptedTarget extends EventEmitter {
  readonly options: ScriptedTargetOptions;
  readonly targetName: string;
  readonly blockLength: number;
  /** LUN 0's size; resize() changes it. */
  blocks: number;
  readonly cmdWindow: number;
  readonly limits: TargetLimits;
  /** LUN 0's contents. */
  store: Buffer;
  readonly connections: Connection[] = [];
  readonly logins: LoginRecord[] = [];
  readonly commands: CommandRecord[] = [];
  readonly tmfs: TmfRecord[] = [];
  readonly nops: NopRecord[] = [];
  readonly logouts: LogoutRecord[] = [];
  /** Every R2T sent and every Data-Out received, in order. */
  readonly r2ts: R2tRecord[] = [];
  readonly dataOuts: DataOutRecord[] = [];
  /** Override for TMF answers: a response code, null to ignore the TMF,
   * undefined for the default (ABORT TASK: 0 if the task is known, else 1). */
  onTmf?: (tmf: TmfRecord) => number | null | undefined;
  /** Override for the Data-In of a READ that succeeds: `data` is what the
   * LUN returned. A plan is sent as written; undefined = the normal Data-In
   * (one sequence, status in the last PDU). */
  dataIn?: (cmd: CommandRecord, data: Buffer, conn: Connection) => DataInPlan | undefined;
  /** Override for R2Ts: `next` is what the target would ask for; returned
   * fields replace it (undefined = as is). */
  r2t?: (cmd: CommandRecord, next: R2tFields, conn: Connection) => Partial<R2tFields> | undefined;
  /** How Logout Requests are answered. */
  logoutAnswer: LogoutAnswer = {};
  /** NOP-Out answering of connections yet to come. */
  answerNopsByDefault = true;
  port = 0;
  #server: net.Server;
  #holds: Hold[] = [];
  #nextTsih = 0x20;
  #isids = new Set<string>();

  constructor(options: ScriptedTargetOptions = {}) {
    super();
    this.options = options;
    this.targetName = options.targetName ?? 'iqn.2026-11.test.scripted:disk';
    this.blockLength = options.blockLength ?? 512;
    this.blocks = options.blocks ?? 2048;
    this.cmdWindow = options.cmdWindow ?? 32;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.store = initialPattern(this.blocks * this.blockLength);
    this.#server = net.createServer((s) => {
      const c = new Connection(this, s, this.connections.length + 1);
      c.answerNops = this.answerNopsByDefault;
      this.connections.push(c);
      this.emit('connection', c);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  /** Holds the next `times` (default 1) commands that match: they are
   * recorded but not answered until release() (or a TMF / disconnect). */
  hold(match: (cmd: CommandRecord) => boolean, times = 1): void {
    this.#holds.push({ match, times });
  }

  /** Answers a held command now (if its connection is still there). */
  release(cmd: CommandRecord): void {
    cmd.conn.execute(cmd);
  }

  /** Changes LUN 0's size, as a volume resize on a real target would:
   * stored data is kept, new blocks get the initial pattern. (Telling the
   * initiator is the test's business, e.g. an Async Message.) */
  resize(blocks: number): void {
    const next = initialPattern(blocks * this.blockLength);
    this.store.copy(next, 0, 0, Math.min(this.store.length, next.length));
    this.store = next;
    this.blocks = blocks;
  }

  /** Expected contents of `blocks` blocks at `lba`. */
  expected(lba: number, blocks: number): Buffer {
    return Buffer.from(this.store.subarray(lba * this.blockLength, (lba + blocks) * this.blockLength));
  }

  /** Resolves with the first record of `kind` (already seen or still to
   * come) that matches. */
  waitFor(kind: 'login', match?: (r: LoginRecord) => boolean, timeoutMs?: number): Promise<LoginRecord>;
  waitFor(kind: 'command', match?: (r: CommandRecord) => boolean, timeoutMs?: number): Promise<CommandRecord>;
  waitFor(kind: 'tmf', match?: (r: TmfRecord) => boolean, timeoutMs?: number): Promise<TmfRecord>;
  waitFor(kind: 'nop', match?: (r: NopRecord) => boolean, timeoutMs?: number): Promise<NopRecord>;
  waitFor(kind: 'logout', match?: (r: LogoutRecord) => boolean, timeoutMs?: number): Promise<LogoutRecord>;
  waitFor(kind: Kind, match: (r: never) => boolean = () => true, timeoutMs = 5000): Promise<unknown> {
    const list = { login: this.logins, command: this.commands, tmf: this.tmfs, nop: this.nops, logout: this.logouts }[kind] as unknown[];
    const m = match as (r: unknown) => boolean;
    const found = list.find(m);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const on = (r: unknown): void => {
        if (!m(r)) return;
        clearTimeout(timer);
        this.off(kind, on);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off(kind, on);
        reject(new Error(`scripted target: no matching ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on(kind, on);
    });
  }

  /** @internal */
  shouldHold(cmd: CommandRecord): boolean {
    const h = this.#holds.find((x) => x.times > 0 && x.match(cmd));
    if (!h) return false;
    h.times--;
    return true;
  }

  /** @internal */
  newTsih(): number {
    const t = this.#nextTsih++;
    if (this.#nextTsih > 0xffff) this.#nextTsih = 1;
    return t;
  }

  /** @internal A leading login: a reinstatement when the I_T nexus
   * (initiator name + ISID) had a session before; the old connections
   * are closed (RFC 7143 6.3.5). */
  recordLogin(lg: LoginRecord): void {
    const key = `${lg.initiatorName}/${lg.isid}`;
    lg.reinstatement = lg.sessionType !== 'Discovery' && this.#isids.has(key);
    if (lg.sessionType !== 'Discovery') this.#isids.add(key);
    if (lg.reinstatement) {
      for (const c of this.connections) {
        if (c !== lg.conn && !c.closed && c.login && `${c.login.initiatorName}/${c.login.isid}` === key) c.destroy();
      }
    }
    this.logins.push(lg);
    this.emit('login', lg);
  }

  /** @internal */
  recordCommand(cmd: CommandRecord): void {
    this.commands.push(cmd);
    this.emit('command', cmd);
  }

  /** @internal */
  recordTmf(t: TmfRecord): void {
    this.tmfs.push(t);
    this.emit('tmf', t);
  }

  /** @internal */
  recordNop(n: NopRecord): void {
    this.nops.push(n);
    this.emit('nop', n);
  }

  /** @internal */
  recordLogout(l: LogoutRecord): void {
    this.logouts.push(l);
    this.emit('logout', l);
  }

  /** @internal */
  recordR2t(r: R2tRecord): void {
    this.r2ts.push(r);
  }

  /** @internal */
  recordDataOut(d: DataOutRecord): void {
    this.dataOuts.push(d);
  }

  /** @internal The session of `lg` was logged out: its I_T nexus has no
   * session any more. */
  forgetSession(lg: LoginRecord): void {
    this.#isids.delete(`${lg.initiatorName}/${lg.isid}`);
  }

  /** @internal Executes one command on LUN 0 (SBC-3 / SPC-4 subsets). */
  run(cmd: CommandRecord, conn: Connection): { status: number; data?: Buffer; sense?: Buffer } {
    const c = cmd.cdb;
    const check = (key: number, asc: number, ascq = 0) => ({ status: 0x02, sense: fixedSense(key, asc, ascq) });
    const op = c[0];
    if (op === 0xa0) {
      // REPORT LUNS (SPC-4 6.33): LUN 0 only.
      const d = Buffer.alloc(16);
      d.writeUInt32BE(8, 0);
      return { status: 0, data: d };
    }
    if (cmd.lun !== 0) return check(0x05, 0x25); // LOGICAL UNIT NOT SUPPORTED
    if (op === 0x12) {
      // Standard INQUIRY (SPC-4 6.4.2): direct-access block device.
      const d = Buffer.alloc(36);
      d[2] = 0x06; // SPC-4
      d[3] = 0x02;
      d[4] = 31;
      d.write('SCRIPTED', 8, 'latin1');
      d.write('TASK-MGMT TEST  ', 16, 'latin1');
      d.write('0001', 32, 'latin1');
      return { status: 0, data: d };
    }
    if (op === 0x03) return { status: 0, data: fixedSense(0, 0, 0) }; // REQUEST SENSE
    if (conn.pendingUnitAttention) {
      conn.pendingUnitAttention = false;
      return check(0x06, 0x29, 0x07); // UNIT ATTENTION, I_T NEXUS LOSS OCCURRED
    }
    const lastLba = this.blocks - 1;
    const rw = (lba: bigint, n: number, write: boolean) => {
      if (lba + BigInt(n) > BigInt(this.blocks)) return check(0x05, 0x21); // LBA OUT OF RANGE
      const off = Number(lba) * this.blockLength;
      const len = n * this.blockLength;
      if (write) {
        cmd.dataOut.copy(this.store, off, 0, Math.min(len, cmd.dataOut.length));
        return { status: 0 };
      }
      return { status: 0, data: Buffer.from(this.store.subarray(off, off + len)) };
    };
    switch (op) {
      case 0x00: // TEST UNIT READY
      case 0x35: // SYNCHRONIZE CACHE(10)
      case 0x91: // SYNCHRONIZE CACHE(16)
        return { status: 0 };
      case 0x25: {
        // READ CAPACITY(10) (SBC-3 5.15)
        const d = Buffer.alloc(8);
        d.writeUInt32BE(Math.min(lastLba, 0xffffffff), 0);
        d.writeUInt32BE(this.blockLength, 4);
        return { status: 0, data: d };
      }
      case 0x9e: {
        if ((c[1] & 0x1f) !== 0x10) return check(0x05, 0x24); // INVALID FIELD IN CDB
        // READ CAPACITY(16) (SBC-3 5.16)
        const d = Buffer.alloc(32);
        d.writeBigUInt64BE(BigInt(lastLba), 0);
        d.writeUInt32BE(this.blockLength, 8);
        return { status: 0, data: d };
      }
      case 0x28: // READ(10)
        return rw(BigInt(c.readUInt32BE(2)), c.readUInt16BE(7), false);
      case 0x88: // READ(16)
        return rw(c.readBigUInt64BE(2), c.readUInt32BE(10), false);
      case 0x2a: // WRITE(10)
        return rw(BigInt(c.readUInt32BE(2)), c.readUInt16BE(7), true);
      case 0x8a: // WRITE(16)
        return rw(c.readBigUInt64BE(2), c.readUInt32BE(10), true);
      default:
        return check(0x05, 0x20); // INVALID COMMAND OPERATION CODE
    }
  }
}

/** Starts a scripted target on 127.0.0.1 (random port). */
export async function startScriptedTarget(options?: ScriptedTargetOptions): Promise<ScriptedTarget> {
  const t = new ScriptedTarget(options);
  await t.listen();
  return t;
}
