/** Thrown by handlers for a malformed payload; the connection logs it and drops the event. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/**
 * Thrown by handlers for a well-formed event the session may not send now (not the host,
 * no permission, an unknown event); the connection drops it with a rate-bounded log line.
 */
export class EventRefused extends Error {
  constructor(
    message: string,
    readonly level: 'debug' | 'warn' = 'debug',
  ) {
    super(message);
    this.name = 'EventRefused';
  }
}

export type Obj = Record<string, unknown>;

export function object(payload: unknown): Obj {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new PayloadError('payload must be an object');
  }
  return payload as Obj;
}

export function optionalObject(payload: unknown): Obj {
  return payload === undefined || payload === null ? {} : object(payload);
}

export function string(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new PayloadError(`${key} must be a string`);
  return v;
}

export function optionalString(o: Obj, key: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : string(o, key);
}

export function optionalBool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new PayloadError(`${key} must be a boolean`);
  return v;
}

/** An integer within [min, max]. */
export function int(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PayloadError(`${key} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

export function optionalInt(o: Obj, key: string, min: number, max: number): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : int(o, key, min, max);
}
