import { parsePortal, formatPortal } from '../lib/portal';
import { IscsiError } from '../lib/errors';

function bad(input: unknown): IscsiError {
  try {
    parsePortal(input);
  } catch (e) {
    expect(e).toBeInstanceOf(IscsiError);
    expect((e as IscsiError).code).toBe('ERR_INVALID_ARG_VALUE');
    return e as IscsiError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('parsePortal', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 3260, 4, '10.0.0.1:3260'],
    ['10.0.0.1:3261', '10.0.0.1', 3261, 4, '10.0.0.1:3261'],
    ['[fe80::1%eth0]:3260', 'fe80::1%eth0', 3260, 6, '[fe80::1%eth0]:3260'],
    ['[::1]', '::1', 3260, 6, '[::1]:3260'],
    ['[::1]:1', '::1', 1, 6, '[::1]:1'],
    ['::1', '::1', 3260, 6, '[::1]:3260'],
    ['2001:db8::5', '2001:db8::5', 3260, 6, '[2001:db8::5]:3260'],
    ['host.example:3260', 'host.example', 3260, 0, 'host.example:3260'],
    ['host.example', 'host.example', 3260, 0, 'host.example:3260'],
    ['localhost:65535', 'localhost', 65535, 0, 'localhost:65535'],
  ])('%s', (input, host, port, family, text) => {
    expect(parsePortal(input)).toEqual({ host, port, family, text });
  });

  it('accepts the object form', () => {
    expect(parsePortal({ address: '127.0.0.1', port: 3261 })).toEqual({
      host: '127.0.0.1', port: 3261, family: 4, text: '127.0.0.1:3261',
    });
    expect(parsePortal({ address: '::1' })).toEqual({ host: '::1', port: 3260, family: 6, text: '[::1]:3260' });
    expect(parsePortal({ address: '[::1]', port: 5 }).text).toBe('[::1]:5');
  });

  it.each([
    '', ' ', '10.0.0.1:', '10.0.0.1:0', '10.0.0.1:65536', '10.0.0.1:99999999', '10.0.0.1:-1', '10.0.0.1:3260x',
    '[::1', '[::1]x', '[::1]:', '[10.0.0.1]:3260', '[nothost]:3260', 'fe80::1:3260:', 'a b', 'host\n',
    'host\x00', '-bad-.example', '1.2.3', '999.1.1.1', 'host:name:3260', 'x'.repeat(300), 'under score..x',
  ])('rejects %j', (input) => {
    bad(input);
  });

  it.each([null, undefined, 3260, [], {}, { address: '' }, { address: 5 }, { address: '1.2.3.4', port: 0 },
    { address: '1.2.3.4', port: 1.5 }, { address: '1.2.3.4', port: '3260' }, { address: '1.2.3.4:3260' }])(
    'rejects non-string input %j', (input) => {
      bad(input);
    });

  it('names the argument and the value in the message', () => {
    const e = bad('10.0.0.1:70000');
    expect(e.message).toContain("'portal'");
    expect(e.message).toContain('10.0.0.1:70000');
    expect(e.message).toContain('between 1 and 65535');
  });
});

describe('formatPortal', () => {
  it('brackets IPv6 only', () => {
    expect(formatPortal('::1', 3260)).toBe('[::1]:3260');
    expect(formatPortal('10.1.2.3', 1)).toBe('10.1.2.3:1');
    expect(formatPortal('h.example', 3260)).toBe('h.example:3260');
  });
});
