// Types for tgtd-process.js (hand-written: the module is plain CommonJS so
// bench/ and scripts/ can require it without a build step). Keep in step
// with the JavaScript.
import type { ChildProcess } from 'node:child_process';

/** tgtd rejects control ports above this. */
export declare const MAX_CONTROL_PORT: 32767;
/** Start attempts before startTgtdProcess gives up. */
export declare const START_ATTEMPTS: number;

export interface StartedTgtdProcess {
  child: ChildProcess;
  pid: number;
  /** The `-C` control port tgtadm talks to. */
  control: number;
  /** iSCSI port on 127.0.0.1. */
  port: number;
  /** iSCSI port on ::1, when ipv6 was requested. */
  port6?: number;
}

export interface StartTgtdProcessOptions {
  /** tgtd's cwd; the caller owns (creates and removes) it. */
  dir: string;
  /** tgtd's stdout/stderr are appended here. */
  logFile: string;
  /** Also listen on [::1]:PORT6. */
  ipv6?: boolean;
  /** Control port for the n-th attempt in this process (1-based); must be 1..32767. */
  pickControl(attempt: number): number;
  /** Register the pid for killAllSync() and the process 'exit' hook. */
  track?: boolean;
  /** Extra environment variables for tgtd (merged over ours). */
  env?: Record<string, string>;
}

export declare function sleep(ms: number): Promise<void>;
export declare function freePort(host?: '127.0.0.1' | '::1'): Promise<number>;
export declare function tgtadmRaw(control: number, args: readonly string[]): Promise<string>;
/** SIGKILL to one pid; ignores processes already gone and pids <= 0. */
export declare function killPid(pid: number | undefined): void;
/** null when every attempt failed. */
export declare function startTgtdProcess(opts: StartTgtdProcessOptions): Promise<StartedTgtdProcess | null>;
/** Detached shell that kills tgtdPid and removes dir if ownerPid dies first. */
export declare function spawnWatchdog(ownerPid: number, tgtdPid: number, dir: string): ChildProcess;
/** Resolves on exit or after timeoutMs; call before signalling the child. */
export declare function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void>;
export declare function track(pid: number): void;
export declare function untrack(pid: number | undefined): void;
export declare function trackDir(dir: string): void;
export declare function untrackDir(dir: string): void;
/** Kills every tracked tgtd and removes every tracked dir (synchronous). */
export declare function killAllSync(): void;
