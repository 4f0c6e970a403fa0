/**
 * SendTargets discovery (RFC 7143 12.3, Appendix C).
 *
 * One public call = one discovery session: resolve, connect, login
 * (SessionType=Discovery), SendTargets=All, a short best-effort logout, and
 * always NativeSession.close(), all under a single deadline and signal.
 * The result is flattened like open-iscsi's node records: one entry per
 * (target, portal), with iface 'default' (open-iscsi's default iface name).
 */
import type { NativeDiscovery } from './native';
import { abortError, type ErrorContext } from './errors';
import { parsePortal, type PortalInput } from './portal';
import {
  Deadline,
  runOperation,
  validateAuth,
  validateChapAlgorithms,
  validateMaxRecvDataSegmentLength,
  validateOptionsObject,
  validateSignal,
  validateTimeout,
  type AuthOptions,
  type ChapAlgorithm,
} from './options';
import { resolveInitiatorName } from './initiator-name';
import { emit, validateLogger, type Logger } from './log';
import { DEFAULT_LOGIN_TIMEOUT_MS, loginFirst } from './session';

/** How long the courtesy logout may take out of what is left. */
const LOGOUT_BUDGET_MS = 1000;

export interface DiscoveryOptions {
  initiatorName?: string;
  auth?: AuthOptions;
  chapAlgorithms?: ChapAlgorithm[];
  logger?: Logger;
  signal?: AbortSignal;
  /** Whole operation (DNS, connect, login, SendTargets), default 15000. */
  timeoutMs?: number;
  /** Largest data segment we accept per PDU (RFC 7143 13.12), 512 ..
   * 16777215; default 262144. Smaller values make long SendTargets answers
   * arrive in more PDUs. Tuning only. */
  maxRecvDataSegmentLength?: number;
}

export interface DiscoveredTarget {
  target: string;
  /** As the target reported it (numeric address or host name, no brackets). */
  address: string;
  port: number;
  /** Target portal group tag; 1 when the target sent an address without
   * ",tpgt" (what open-iscsi records in that case). */
  tpgt: number;
  iface: string;
}

export function flattenDiscovery(d: NativeDiscovery): DiscoveredTarget[] {
  const out: DiscoveredTarget[] = [];
  for (const t of d.targets) {
    for (const p of t.portals) {
      out.push({ target: t.name, address: p.address, port: p.port, tpgt: p.hasTpgt ? p.tpgt : 1, iface: 'default' });
    }
  }
  return out;
}

export async function discoverSendTargets(
  portal: string | PortalInput,
  options?: DiscoveryOptions,
): Promise<DiscoveredTarget[]> {
  const parsed = parsePortal(portal);
  const o = validateOptionsObject(options);
  const signal = validateSignal(o.signal);
  const timeoutMs = validateTimeout(o.timeoutMs, 'options.timeoutMs', DEFAULT_LOGIN_TIMEOUT_MS);
  const auth = validateAuth(o.auth);
  const chapAlgorithms = validateChapAlgorithms(o.chapAlgorithms);
  const maxRecvDataSegmentLength = validateMaxRecvDataSegmentLength(o.maxRecvDataSegmentLength);
  const logger = validateLogger(o.logger);
  const deadline = new Deadline(timeoutMs);
  const ctx: ErrorContext = { operation: 'SendTargets discovery', portal: parsed.text };
  if (signal?.aborted) throw abortError(ctx);
  const initiatorName = await resolveInitiatorName(o.initiatorName);

  const native = await loginFirst({
    sessionType: 'discovery',
    initiatorName,
    portal: parsed,
    auth,
    chapAlgorithms,
    maxRecvDataSegmentLength,
    logger,
    signal,
    deadline,
    ctx,
  });
  try {
    const result = await runOperation(native, () => native.discover(), ctx, signal, deadline.remaining());
    if (result.rejected > 0) {
      emit(logger, 'warn', `SendTargets: dropped ${result.rejected} invalid entr${result.rejected === 1 ? 'y' : 'ies'}`, {
        portal: parsed.text,
      });
    }
    const budget = Math.min(LOGOUT_BUDGET_MS, deadline.remaining());
    if (budget > 0 && !signal?.aborted) {
      try {
        await runOperation(native, () => native.logout(), { ...ctx, operation: 'discovery logout' }, signal, budget);
      } catch (err) {
        // The answer is in hand; a target that drops the connection instead
        // of answering the logout does not make discovery fail.
        emit(logger, 'debug', `discovery logout failed: ${(err as { code?: string }).code}`, { portal: parsed.text });
      }
    }
    return flattenDiscovery(result);
  } finally {
    native.close();
  }
}
