/**
 * Structured logging bridge.
 *
 * Users pass any object with optional level methods (console works, so do
 * pino/winston child loggers). The native core's level is chosen from the
 * most verbose method present, so PDU trace lines (level 4, one per PDU
 * header) are only produced when a `trace` function exists: formatting them
 * costs time on every PDU. Native messages never contain secrets.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  trace?(msg: string, fields?: LogFields): void;
  debug?(msg: string, fields?: LogFields): void;
  info?(msg: string, fields?: LogFields): void;
  warn?(msg: string, fields?: LogFields): void;
  error?(msg: string, fields?: LogFields): void;
}

/** Native levels (enum isc_log_level). */
export const NativeLogLevel = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 } as const;
const LEVEL_NAMES = ['error', 'warn', 'info', 'debug', 'trace'] as const;
type LevelName = (typeof LEVEL_NAMES)[number];

export function validateLogger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  return value as Logger;
}

/** The most verbose native level that has a receiving method, or -1. */
export function nativeLevelFor(logger: Logger | undefined): number {
  if (!logger) return -1;
  for (let lvl = LEVEL_NAMES.length - 1; lvl >= 0; lvl--) {
    if (typeof logger[LEVEL_NAMES[lvl]] === 'function') return lvl;
  }
  return -1;
}

/** Calls logger[level] if present; a throwing logger must not break I/O. */
export function emit(logger: Logger | undefined, level: LevelName, msg: string, fields?: LogFields): void {
  const fn = logger?.[level];
  if (typeof fn !== 'function') return;
  try {
    fn.call(logger, msg, fields);
  } catch {
    // ignore logger failures
  }
}

/** NativeSessionConfig.logLevel/log for a logger, with fixed context fields. */
export function nativeLogConfig(
  logger: Logger | undefined,
  context: LogFields,
): { logLevel?: number; log?: (level: number, message: string) => void } {
  const lvl = nativeLevelFor(logger);
  if (lvl < 0) return {};
  return {
    logLevel: lvl,
    log: (level: number, message: string) => {
      const name: LevelName = LEVEL_NAMES[Math.min(Math.max(level | 0, 0), 4)];
      emit(logger, name, message, { ...context, source: 'native', level: name });
    },
  };
}
