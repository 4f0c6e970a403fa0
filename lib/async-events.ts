/**
 * Async Messages from the target (RFC 7143 section 11.9) as Session events.
 *
 * The C core decodes each message and decides what the initiator does
 * about it (native/core/src/async.c); this module only names the message
 * and shapes the payloads of the events Session emits for it. Kept apart
 * from session.ts so the event vocabulary lives in one place.
 */
import type { NativeAsyncMessage } from './native';
import { parseSense, type SenseData } from './scsi';

/** AsyncEvent codes (RFC 7143 11.9.1) by name. */
export type AsyncEventName =
  | 'scsi-event'
  | 'logout-request'
  | 'connection-drop'
  | 'session-drop'
  | 'renegotiate'
  | 'vendor'
  | 'reserved';

/** What the initiator does about an Async Message:
 * - 'report': nothing beyond the events (AsyncEvent 0, 255, reserved);
 * - 'logout': logs out; the session ends (pending commands reject with
 *   ISCSI_TARGET_LOGOUT, then 'close');
 * - 'relogin': logs out and back in; pending commands are reissued
 *   ('disconnect' with ISCSI_TARGET_LOGOUT, then 'reconnect');
 * - 'reconnect': closes the connection now and reinstates the session
 *   after Time2Wait ('disconnect', then 'reconnect');
 * - 'fail': the target drops the connection and reinstatement is off: the
 *   session fails ('error' when listened to, then 'close'). */
export type AsyncAction = 'report' | 'logout' | 'relogin' | 'reconnect' | 'fail';

/** Payload of Session's 'asyncEvent', emitted for every Async Message. */
export interface AsyncEventInfo {
  /** AsyncEvent code: 0 SCSI event, 1 logout request, 2 connection drop,
   * 3 session drop, 4 renegotiation request, 255 vendor specific. */
  event: number;
  name: AsyncEventName;
  /** AsyncVCode (vendor events). */
  vcode: number;
  /** LUN the event is about (AsyncEvent 0); -1 if not a single-level LUN. */
  lun: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
  action: AsyncAction;
  /** 'logout'/'relogin': the Logout goes out within this many ms (half
   * of Parameter3 for a logout request); 'reconnect': the reinstatement
   * starts after this many ms (Time2Wait). */
  delayMs: number;
  /** AsyncEvent 0: the sense data, and decoded. */
  sense?: Buffer;
  senseData?: SenseData;
  /** The message's data segment as sent. */
  data: Buffer;
}

/** Payload of 'scsiEvent' (AsyncEvent 0): e.g. UNIT ATTENTION with
 * ASC/ASCQ 2Ah/09h CAPACITY DATA HAS CHANGED or 3Fh/0Eh REPORTED LUNS
 * DATA HAS CHANGED. */
export interface ScsiEventInfo {
  lun: number;
  sense: Buffer;
  senseData?: SenseData;
}

/** Payload of 'logoutRequest' (AsyncEvent 1). */
export interface LogoutRequestInfo {
  /** The target wants the Logout within this many ms (Parameter3). */
  withinMs: number;
  action: AsyncAction;
}

/** Payload of 'dropRequest' (AsyncEvent 2 and 3). */
export interface DropRequestInfo {
  /** AsyncEvent 3: the target drops every connection of the session. */
  allConnections: boolean;
  time2waitMs: number;
  time2retainMs: number;
  action: AsyncAction;
}

/** Payload of 'renegotiateRequest' (AsyncEvent 4). */
export interface RenegotiateRequestInfo {
  action: AsyncAction;
}

const NAMES: Record<number, AsyncEventName> = {
  0: 'scsi-event',
  1: 'logout-request',
  2: 'connection-drop',
  3: 'session-drop',
  4: 'renegotiate',
  255: 'vendor',
};

/** SPC-4 ASC/ASCQ 2Ah/09h: the LUN's size changed. */
export function isCapacityChange(s: SenseData | undefined): boolean {
  return s !== undefined && s.asc === 0x2a && s.ascq === 0x09;
}

/** The events (name, payload) to emit for one Async Message, in order:
 * the specific one first, then the generic 'asyncEvent'. */
export function asyncEvents(m: NativeAsyncMessage): Array<[string, unknown]> {
  const info: AsyncEventInfo = {
    event: m.event,
    name: NAMES[m.event] ?? 'reserved',
    vcode: m.vcode,
    lun: m.lun,
    parameter1: m.parameter1,
    parameter2: m.parameter2,
    parameter3: m.parameter3,
    action: m.action,
    delayMs: m.delayMs,
    data: m.data,
  };
  if (m.sense) {
    info.sense = m.sense;
    const sd = parseSense(m.sense);
    if (sd) info.senseData = sd;
  }
  const out: Array<[string, unknown]> = [];
  switch (m.event) {
    case 0:
      out.push(['scsiEvent', { lun: m.lun, sense: info.sense ?? Buffer.alloc(0), senseData: info.senseData } satisfies ScsiEventInfo]);
      break;
    case 1:
      out.push(['logoutRequest', { withinMs: m.parameter3 * 1000, action: m.action } satisfies LogoutRequestInfo]);
      break;
    case 2:
    case 3:
      out.push([
        'dropRequest',
        { allConnections: m.event === 3, time2waitMs: m.parameter2 * 1000, time2retainMs: m.parameter3 * 1000, action: m.action } satisfies DropRequestInfo,
      ]);
      break;
    case 4:
      out.push(['renegotiateRequest', { action: m.action } satisfies RenegotiateRequestInfo]);
      break;
  }
  out.push(['asyncEvent', info]);
  return out;
}
