import {
  validateTimeout, validateSignal, validateAuth, validateChapAlgorithms, validateDigest, runOperation, raceSignal,
  MAX_TIMEOUT_MS, Deadline,
} from '../lib/options';
import { IscsiError } from '../lib/errors';
import type { NativeSession } from '../lib/native';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IscsiError);
    return (e as IscsiError).code;
  }
  return undefined;
}

describe('validateTimeout', () => {
  it('defaults and accepts valid values', () => {
    expect(validateTimeout(undefined, 't', 15000)).toBe(15000);
    expect(validateTimeout(1, 't', 5)).toBe(1);
    expect(validateTimeout(0.5, 't', 5)).toBe(0.5);
    expect(validateTimeout(MAX_TIMEOUT_MS, 't', 5)).toBe(2147483647);
  });
  it.each([-1, 0, NaN, Infinity, -Infinity, MAX_TIMEOUT_MS + 1, '100', null, {}, true])('rejects %p', (v) => {
    expect(codeOf(() => validateTimeout(v, 'options.timeoutMs', 1))).toBe('ERR_INVALID_ARG_VALUE');
  });
});

describe('validateSignal', () => {
  it('accepts AbortSignal and undefined', () => {
    const c = new AbortController();
    expect(validateSignal(c.signal)).toBe(c.signal);
    expect(validateSignal(undefined)).toBeUndefined();
  });
  it.each([null, 1, 'x', {}, { aborted: false }])('rejects %p', (v) => {
    expect(codeOf(() => validateSignal(v))).toBe('ERR_INVALID_ARG_VALUE');
  });
});

describe('validateAuth', () => {
  it('accepts one-way and mutual', () => {
    expect(validateAuth({ username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p' });
    expect(validateAuth({ username: 'u', password: 'p', reverseUsername: 'r', reversePassword: 'q' })).toEqual({
      username: 'u', password: 'p', reverseUsername: 'r', reversePassword: 'q',
    });
    expect(validateAuth(undefined)).toBeUndefined();
  });
  it.each([
    null, 'u:p', {}, { username: 'u' }, { password: 'p' }, { username: '', password: 'p' }, { username: 'u', password: '' },
    { username: 'u\x01', password: 'p' }, { username: 'u', password: 'p', reverseUsername: 'r' },
    { username: 'u', password: 'p', reversePassword: 'q' }, { username: 'u', password: 'x'.repeat(256) },
  ])('rejects %p', (v) => {
    expect(codeOf(() => validateAuth(v))).toBe('ERR_INVALID_ARG_VALUE');
  });
  it('never puts the secret into the message', () => {
    try {
      validateAuth({ username: 'u', password: 'TOPSECRET-PW'.repeat(30) });
      throw new Error('not rejected');
    } catch (e) {
      expect((e as Error).message).not.toContain('TOPSECRET');
    }
    try {
      validateAuth({ username: 'u', password: 'p', reverseUsername: 'r', reversePassword: 'TOPSECRET-REV'.repeat(30) });
      throw new Error('not rejected');
    } catch (e) {
      expect((e as Error).message).not.toContain('TOPSECRET');
    }
  });
});

describe('validateChapAlgorithms / validateDigest', () => {
  it('accepts', () => {
    expect(validateChapAlgorithms(['SHA256', 'MD5'])).toEqual(['SHA256', 'MD5']);
    expect(validateDigest('crc32c', 'd')).toBe('crc32c');
    expect(validateDigest('prefer-crc32c', 'd')).toBe('prefer-crc32c');
    expect(validateDigest(undefined, 'd')).toBeUndefined();
  });
  it.each([[], ['SHA512'], ['MD5', 'MD5'], 'MD5', ['SHA1', 'SHA256', 'MD5', 'SHA3-256', 'SHA1']])('rejects chap %p', (v) => {
    expect(codeOf(() => validateChapAlgorithms(v))).toBe('ERR_INVALID_ARG_VALUE');
  });
  it.each(['CRC32C', 'crc', 1, null])('rejects digest %p', (v) => {
    expect(codeOf(() => validateDigest(v, 'options.headerDigest'))).toBe('ERR_INVALID_ARG_VALUE');
  });
});

/** A NativeSession double whose op settles only via abort(). */
function fakeNative(): NativeSession & { aborted: string[]; pending: Array<(e: Error) => void> } {
  const pending: Array<(e: Error) => void> = [];
  const aborted: string[] = [];
  return {
    aborted,
    pending,
    login: () => new Promise<void>((_, reject) => pending.push(reject)),
    discover: () => Promise.reject(new Error('unused')),
    scsi: () => Promise.reject(new Error('unused')),
    io: () => Promise.reject(new Error('unused')),
    lastTaskId: () => 0,
    abortTask: () => false,
    logout: () => Promise.resolve(),
    abort(code) {
      aborted.push(code);
      for (const r of pending.splice(0)) r(Object.assign(new Error('native aborted'), { code }));
    },
    close() {},
    negotiated: () => null,
    pendingCount: () => pending.length,
  };
}

describe('runOperation', () => {
  const ctx = { operation: 'login', target: 'iqn.2026-11.t:x', portal: '127.0.0.1:3260' };

  it('rejects at once when the signal is already aborted, without starting the op', async () => {
    const n = fakeNative();
    const c = new AbortController();
    c.abort();
    let started = false;
    await expect(runOperation(n, () => { started = true; return n.login(); }, ctx, c.signal, 1000)).rejects.toMatchObject({
      code: 'ABORT_ERR', target: ctx.target, portal: ctx.portal,
    });
    expect(started).toBe(false);
  });

  it('abort event -> native.abort(ABORT_ERR) and the native code is reported', async () => {
    const n = fakeNative();
    const c = new AbortController();
    const p = runOperation(n, () => n.login(), ctx, c.signal, 10000);
    setTimeout(() => c.abort(), 10);
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR', name: 'IscsiError' });
    expect(n.aborted).toEqual(['ABORT_ERR']);
  });

  it('timer -> native.abort(ETIMEDOUT) with a message naming the budget', async () => {
    const n = fakeNative();
    const t0 = Date.now();
    const err = (await runOperation(n, () => n.login(), ctx, undefined, 50).catch((e: IscsiError) => e)) as IscsiError;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(IscsiError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toContain('50 ms');
    expect(err.message).toContain('iqn.2026-11.t:x');
    expect(n.aborted).toEqual(['ETIMEDOUT']);
  });

  it('removes the abort listener and timer after settling', async () => {
    const n = fakeNative();
    const c = new AbortController();
    const r = await runOperation(n, () => Promise.resolve(42), ctx, c.signal, 20);
    expect(r).toBe(42);
    c.abort();
    await new Promise((res) => setTimeout(res, 40));
    expect(n.aborted).toEqual([]);
  });

  it('passes native error properties through', async () => {
    const n = fakeNative();
    const e = await runOperation(
      n,
      () => Promise.reject(Object.assign(new Error('Login refused: authentication failure'), { code: 'ISCSI_AUTH_FAILED', statusClass: 2, statusDetail: 1 })),
      ctx, undefined, 1000,
    ).catch((x: IscsiError) => x);
    expect(e).toMatchObject({ code: 'ISCSI_AUTH_FAILED', statusClass: 2, statusDetail: 1, target: ctx.target, portal: ctx.portal });
    expect(e.message).toContain('Login failed (target iqn.2026-11.t:x, portal 127.0.0.1:3260)');
  });
});

describe('raceSignal / Deadline', () => {
  it('times out a promise that never settles', async () => {
    const e = await raceSignal(new Promise(() => {}), { operation: 'resolving x' }, undefined, 20).catch((x: IscsiError) => x);
    expect((e as IscsiError).code).toBe('ETIMEDOUT');
  });
  it('aborts', async () => {
    const c = new AbortController();
    const p = raceSignal(new Promise(() => {}), { operation: 'resolving x' }, c.signal, 10000);
    c.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
  it('deadline counts down', async () => {
    const d = new Deadline(100);
    expect(d.remaining()).toBeLessThanOrEqual(100);
    await new Promise((r) => setTimeout(r, 30));
    expect(d.remaining()).toBeLessThan(90);
  });
});
