import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * How a stored password that is not an scrypt hash is read: neko's member files hold either
 * base64(SHA-256(password)) or the password itself, depending on `member.file.hash`.
 */
export type LegacyScheme = 'sha256' | 'plain';

export interface Verification {
  ok: boolean;
  /** The stored form is a legacy one and should be replaced by a fresh scrypt hash. */
  upgrade: boolean;
}

const PREFIX = 'scrypt';
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** 16 MiB and ~50 ms per hash here: slow for a guesser, bearable on a shared 2-core host. */
const COST = { N: 16384, r: 8, p: 1 };
/** Parameters read back from a file are bounded so a hostile file cannot exhaust memory. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + (1 << 20) };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$<salt base64>$<key base64>`: parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, COST);
  return [PREFIX, COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export function isScryptHash(stored: string): boolean {
  return stored.startsWith(`${PREFIX}$`);
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const validN = Number.isInteger(N) && N > 1 && N <= MAX_N && (N & (N - 1)) === 0;
  const validR = Number.isInteger(r) && r >= 1 && r <= MAX_R;
  const validP = Number.isInteger(p) && p >= 1 && p <= MAX_P;
  if (!validN || !validR || !validP) return null;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length === 0 || key.length !== KEY_LENGTH) return null;
  return { N, r, p, salt, key };
}

/** Equal-length digests keep the comparison from leaking the stored password's length. */
function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export function sha256Base64(password: string): string {
  return createHash('sha256').update(password).digest('base64');
}

/**
 * Checks `password` against a stored form. A malformed scrypt string never matches: it is
 * not read as a legacy password, which would let anyone who knows the string log in.
 */
export async function verifyPassword(password: string, stored: string, legacy: LegacyScheme): Promise<Verification> {
  if (isScryptHash(stored)) {
    const parsed = parseHash(stored);
    if (!parsed) return { ok: false, upgrade: false };
    const key = await derive(password, parsed.salt, parsed);
    const ok = timingSafeEqual(key, parsed.key);
    const weaker = parsed.N < COST.N || parsed.r < COST.r || parsed.p < COST.p;
    return { ok, upgrade: ok && weaker };
  }
  const ok = legacy === 'sha256' ? sameSecret(sha256Base64(password), stored) : sameSecret(password, stored);
  return { ok, upgrade: ok };
}

let dummy: Promise<string> | null = null;

/**
 * Spends the same work as a real check, so an unknown user name answers no faster than a
 * wrong password and login timing does not reveal which members exist.
 */
export async function burnVerification(password: string): Promise<void> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummy, 'plain');
}
