import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AtomicFile } from '../members/atomic-file.js';

/** The one algorithm share tokens are signed and verified with; pinned so `none` and HS/RS swaps are refused. */
export const SHARE_ALG = 'EdDSA';

export interface ShareKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const KEY_FILE = 'share-key.pem';

function fromPem(pem: string, origin: string): ShareKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`share key ${origin} is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`share key ${origin} must be an Ed25519 key, not ${privateKey.asymmetricKeyType}`);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/**
 * The share signing key: `configured` (PEM text, or the path of a PEM file), else the one
 * kept in `dir`, generated there on first use (mode 0600), else a key that lives as long as
 * the process when there is no state folder.
 */
export async function loadShareKey(configured: string, dir: string): Promise<ShareKey> {
  if (configured.trim().startsWith('-----BEGIN')) return fromPem(configured, '(inline)');
  if (configured) return fromPem(await readFile(configured, 'utf8'), configured);
  if (!dir) {
    const pair = generateKeyPairSync('ed25519');
    return { privateKey: pair.privateKey, publicKey: pair.publicKey };
  }
  const file = path.join(dir, KEY_FILE);
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (existing !== null) return fromPem(existing, file);
  const pair = generateKeyPairSync('ed25519');
  const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const atomic = new AtomicFile(file, 0o600);
  await atomic.removeStaleTemp();
  await atomic.write(() => pem);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}
