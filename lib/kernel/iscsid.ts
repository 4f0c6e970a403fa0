/**
 * Talking to iscsid: one NativeIscsid per call, under the caller's signal
 * and deadline. The C core decides the request layout (size probe before
 * every login; unknown layouts refused), so nothing here ever builds bytes.
 */
import { loadBinding, type NativeIscsid, type NativeIscsidResponse } from '../native';
import { ErrorCodes, IscsiError, abortError, fromNative, type ErrorContext } from '../errors';
import { Deadline, runOperation } from '../options';

/** iscsiadm_cmd_e values (open-iscsi usr/mgmt_ipc.h). */
export const IscsidCommand = {
  SESSION_LOGOUT: 2,
  SESSION_STATS: 7,
  CONFIG_INAME: 8,
  CONFIG_IALIAS: 9,
  CONFIG_FILE: 10,
  SESSION_INFO: 13,
} as const;

export interface IscsidCallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** Abstract socket name (tests); default iscsid's ISCSIADM_ABSTRACT_NAMESPACE. */
  socketName?: string;
}

/**
 * Runs `fn` against a fresh client and turns every outcome into either the
 * successful response or an IscsiError: transport failures from the core
 * (ISCSID_NOT_RUNNING, ISCSID_UNSUPPORTED_VERSION, ISCSI_PERMISSION_DENIED,
 * ...) and iscsid's own ISCSI_ERR_* answers (with `iscsidError` set).
 */
export async function iscsidCall(
  fn: (client: NativeIscsid) => Promise<NativeIscsidResponse>,
  ctx: ErrorContext,
  options: IscsidCallOptions,
): Promise<NativeIscsidResponse> {
  if (options.signal?.aborted) throw abortError(ctx);
  const Native = loadBinding().NativeIscsid;
  let client: NativeIscsid;
  try {
    client = options.socketName === undefined ? new Native() : new Native(options.socketName);
  } catch (err) {
    throw fromNative(err, ctx);
  }
  // The core names an offending node-record key (never its value).
  const withKey = (err: unknown): never => {
    const key = (err as { key?: unknown } | null)?.key;
    if (typeof key !== 'string' || !key) throw err;
    const e = fromNative(err, ctx);
    throw new IscsiError(
      e.code === 'ISCSI_UNSUPPORTED' ? ErrorCodes.ISCSID_UNSUPPORTED_VERSION : ErrorCodes.INVALID_ARG,
      `${e.message} (node record key ${key})`,
      { target: ctx.target, portal: ctx.portal },
    );
  };
  let rsp: NativeIscsidResponse;
  try {
    rsp = await runOperation(client, () => fn(client).catch(withKey), ctx, options.signal, options.timeoutMs);
  } finally {
    client.close();
  }
  if (rsp.iscsidError !== 0) throw iscsidError(rsp, ctx);
  return rsp;
}

/** An error iscsid itself answered with. */
export function iscsidError(rsp: NativeIscsidResponse, ctx: ErrorContext): IscsiError {
  const code = rsp.code ?? ErrorCodes.ISCSID_ERROR;
  const base = fromNative({ code, message: `iscsid answered ${rsp.iscsidErrorName} (${rsp.iscsidError})` }, ctx);
  return new IscsiError(code, base.message, {
    target: ctx.target,
    portal: ctx.portal,
    iscsidError: rsp.iscsidError,
    iscsidErrorName: rsp.iscsidErrorName,
  });
}

export interface IscsidInfo {
  /** sizeof(iscsiadm_req_t) the running iscsid expects. */
  requestSize: number;
  /** open-iscsi releases with that request layout. */
  versions: string;
  /** The initiator name iscsid uses (from its initiatorname.iscsi). */
  initiatorName: string;
  /** The iscsid.conf it read. */
  configFile: string;
}

/** Asks the running iscsid who it is (no side effects). */
export async function iscsidInfo(options: IscsidCallOptions): Promise<IscsidInfo> {
  const ctx = { operation: 'iscsid query' };
  const deadline = new Deadline(options.timeoutMs);
  const name = await iscsidCall((c) => c.request(IscsidCommand.CONFIG_INAME, 0), ctx, options);
  const file = await iscsidCall((c) => c.request(IscsidCommand.CONFIG_FILE, 0), ctx, { ...options, timeoutMs: deadline.remaining() });
  return { requestSize: name.requestSize, versions: name.versions, initiatorName: name.text, configFile: file.text };
}

export { IscsiError };
