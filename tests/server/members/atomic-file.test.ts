import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../server/src/log.js';
import { AtomicFile } from '../../../server/src/members/atomic-file.js';
import { openFileProvider, serializeMemberFile } from '../../../server/src/members/file.js';
import { hashPassword } from '../../../server/src/members/password.js';
import { PROFILE_KEYS, newMemberProfile } from '../../../server/src/members/types.js';

const MEMBERS = 100;
const KILLS = 20;
const WRITER = new URL('./fixtures/member-writer.ts', import.meta.url).pathname;

interface Writer {
  child: ReturnType<typeof spawn>;
  /** Everything the writer printed: "ready", then "+" per write started and "-" per write done. */
  progress: string;
  /** Resolves once the writer is gone and all it printed has been read. */
  gone: Promise<void>;
}

/** Starts the writer in its own process group and resolves once it is writing. */
function startWriter(file: string): Promise<Writer> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(MEMBERS)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const writer: Writer = { child, progress: '', gone: new Promise((resolve) => child.once('close', () => resolve())) };
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => {
      writer.progress += String(d);
      if (writer.progress.includes('ready')) resolve(writer);
    });
    child.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
}

async function killGroup(writer: Writer): Promise<void> {
  const { child } = writer;
  if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  await writer.gone;
}

function checkMembers(text: string, round: number): void {
  let data: Record<string, { password: string; profile: Record<string, unknown> }>;
  try {
    data = JSON.parse(text);
  } catch (err) {
    assert.fail(`kill ${round}: member file does not parse (${(err as Error).message}), ${text.length} bytes`);
  }
  const ids = Object.keys(data);
  assert.ok(ids.length === MEMBERS || ids.length === MEMBERS - 1, `kill ${round}: ${ids.length} members`);
  for (const [id, entry] of Object.entries(data)) {
    assert.match(entry.password, /^scrypt\$/, `kill ${round}: ${id} has an scrypt hash`);
    assert.deepEqual(Object.keys(entry.profile), [...PROFILE_KEYS], `kill ${round}: ${id} has a complete profile`);
  }
}

describe('member file survives being killed mid-write', () => {
  let dir: string;
  const writers: Writer[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'atomic-'));
  });
  after(async () => {
    await Promise.all(writers.map(killGroup));
    await rm(dir, { recursive: true, force: true });
  });

  test(`${KILLS} SIGKILLs at random moments leave a valid file and at most one temp file`, async (t) => {
    const file = path.join(dir, 'members.json');
    const hash = await hashPassword('seed');
    const seed = new Map([...Array(MEMBERS).keys()].map((i) => [`m${i}`, { password: hash, profile: newMemberProfile(`m${i}`) }]));
    await writeFile(file, serializeMemberFile(seed));
    let leftovers = 0;
    let midWrite = 0;
    for (let round = 1; round <= KILLS; round++) {
      const writer = await startWriter(file);
      writers.push(writer);
      await sleep(Math.random() * 150);
      await killGroup(writer);
      // The last mark tells where the kill landed: "+" inside a write, "-" or "ready" between two.
      if (writer.progress.at(-1) === '+') midWrite++;
      checkMembers(await readFile(file, 'utf8'), round);
      const others = (await readdir(dir)).filter((name) => name !== 'members.json');
      assert.ok(others.length === 0 || (others.length === 1 && others[0] === 'members.json.tmp'), `kill ${round}: stray files ${others.join(', ')}`);
      leftovers += others.length;
    }
    t.diagnostic(`${midWrite} of ${KILLS} kills landed inside a write, ${leftovers} while a temp file existed`);
    // Kills that all fell between writes would prove nothing about a torn write.
    assert.ok(midWrite > 0, `no kill of ${KILLS} landed inside a write`);
    const store = await openFileProvider({ path: file, hash: true, logger: silentLogger() });
    assert.ok((await store.list(0, 0)).length >= MEMBERS - 1, 'the provider opens the file after the last kill');
    await store.close();
    assert.deepEqual(await readdir(dir), ['members.json'], 'opening removes a stale temp file');
  });

  test('writes requested while one runs collapse into one write of the latest content', async () => {
    const file = new AtomicFile(path.join(dir, 'coalesce.json'));
    const written: string[] = [];
    const render = (v: string) => () => (written.push(v), v);
    const first = file.write(render('1'));
    await new Promise((resolve) => setImmediate(resolve));
    const second = file.write(render('2'));
    const third = file.write(render('3'));
    assert.equal(second, third, 'a queued write is shared');
    await Promise.all([first, second, third]);
    assert.deepEqual(written, ['1', '3']);
    assert.equal(await readFile(path.join(dir, 'coalesce.json'), 'utf8'), '3');
  });
});
