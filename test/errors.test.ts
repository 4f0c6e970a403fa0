import * as util from 'node:util';
import { IscsiError, fromNative, invalidArg, sessionClosedError, ErrorCodes } from '../lib/errors';

describe('IscsiError', () => {
  it('is an Error with a code and only the defined details', () => {
    const e = new IscsiError('ISCSI_AUTH_FAILED', 'm', { statusClass: 2, statusDetail: 1, target: 't', portal: 'p' });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('IscsiError');
    expect(Object.keys(e).sort()).toEqual(['code', 'portal', 'statusClass', 'statusDetail', 'target']);
    const bare = new IscsiError('X', 'm', { statusClass: -1, errno: 0 });
    expect('statusClass' in bare).toBe(false);
    expect('errno' in bare).toBe(false);
  });

  it('fromNative keeps code, status and errno and adds where + a hint', () => {
    const native = Object.assign(new Error('connect() failed'), { code: 'ECONNREFUSED', errno: 111 });
    const e = fromNative(native, { operation: 'SendTargets discovery', portal: '127.0.0.1:1' });
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.errno).toBe(111);
    expect(e.portal).toBe('127.0.0.1:1');
    expect(e.message).toBe(
      'SendTargets discovery failed (portal 127.0.0.1:1): connect() failed; check the address and port, and that the target daemon is running',
    );
  });

  it('fromNative without a code or message', () => {
    const e = fromNative(undefined, { operation: 'login', target: 'iqn.x' });
    expect(e.code).toBe('ISCSI_ERROR');
    expect(e.message).toBe('Login failed (target iqn.x): ISCSI_ERROR');
    expect(fromNative(e, { operation: 'other' })).toBe(e);
  });

  it('abort and closed messages', () => {
    expect(fromNative({ code: 'ABORT_ERR', message: 'x' }, { operation: 'login', portal: 'p' }).message).toBe('Login was aborted (portal p)');
    const c = sessionClosedError({ operation: 'INQUIRY on LUN 1', target: 't', portal: 'p' });
    expect(c.code).toBe(ErrorCodes.SESSION_CLOSED);
    expect(c.message).toContain('the session is closed');
  });

  it('invalidArg describes objects by type only', () => {
    const e = invalidArg('options.auth', { username: 'u', password: 'hunter2-secret' }, 'must be valid');
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe("The argument 'options.auth' must be valid. Received an instance of Object");
    expect(util.inspect(e)).not.toContain('hunter2');
  });
});
