/**
 * Redaction of firmware secrets (iBFT CHAP secrets) in util.inspect and
 * JSON output. The secret stays a normal readable property, so code can hand
 * it to openSession(); only the two generic renderings are replaced, through
 * non-enumerable `toJSON` and `[util.inspect.custom]` methods (so they are
 * not copied by spreads and do not show up in Object.keys). A spread copy is
 * a plain object again: the caller owns what it does with it.
 */
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/** Makes `obj`'s `fields` render as '[redacted]' (when set) in inspect and
 * JSON unless `includeSecrets`. Returns obj. */
export function redactable<T extends object>(obj: T, fields: readonly string[], includeSecrets: boolean): T {
  if (includeSecrets) return obj;
  const render = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      out[k] = fields.includes(k) && v !== null && v !== undefined ? REDACTED : v;
    }
    return out;
  };
  Object.defineProperty(obj, 'toJSON', { value: render, enumerable: false, configurable: true });
  Object.defineProperty(obj, inspect.custom, {
    value: (depth: number, options: object, insp: typeof inspect = inspect) =>
      insp(render(), { ...options, depth: depth < 0 ? 0 : depth }),
    enumerable: false,
    configurable: true,
  });
  return obj;
}
