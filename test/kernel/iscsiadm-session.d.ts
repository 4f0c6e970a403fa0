/** Types of test/kernel/iscsiadm-session.js (a CommonJS parser for `iscsiadm -m session -P 3`). */
import type { KernelSession } from '../../lib/kernel/types';

export interface P3Portal {
  address: string;
  port: number;
  tpgt: number;
}

export interface P3Lun {
  host: number | null;
  channel: number | null;
  id: number | null;
  lun: number | null;
  /** Kernel name of the attached disk ('sda'), null when none is attached. */
  disk: string | null;
  state: string | null;
}

export interface P3Session {
  target: string;
  /** true for "(flash)", false for "(non-flash)", null when not printed. */
  flash: boolean | null;
  currentAddress: string | null;
  currentPort: number | null;
  persistentAddress: string | null;
  persistentPort: number | null;
  tpgt: number | null;
  sid: number | null;
  iface: string | null;
  transport: string | null;
  initiatorName: string | null;
  ifaceAddress: string | null;
  connectionState: string | null;
  sessionState: string | null;
  internalState: string | null;
  host: number | null;
  hostState: string | null;
  luns: P3Lun[];
}

export interface P3Output {
  transportVersion: string | null;
  version: string | null;
  sessions: P3Session[];
}

export function parseSessionP3(text: string): P3Output;
export function parsePortal(text: string): P3Portal | null;
export function diffSessions(parsed: P3Output, kernel: KernelSession[]): string[];
