import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../server/src/config/index.js';
import { createLogger, LOG_FILE, logOptions } from '../../server/src/log.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = import.meta.resolve('tsx');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'neko-log-'));
  dirs.push(dir);
  return dir;
}

/** An empty config file, so a neko.yaml in /etc/neko or the cwd cannot change what is tested. */
function emptyConfig(): string {
  const file = path.join(tempDir(), 'neko.yaml');
  writeFileSync(file, '');
  return file;
}

// What main() does: configuration from flags, then the root logger from it.
const PROBE = `
const { loadConfig } = await import(process.env.PROBE_CONFIG);
const { createLogger, logOptions } = await import(process.env.PROBE_LOG);
const config = loadConfig(JSON.parse(process.env.PROBE_ARGS), {});
const log = createLogger(logOptions(config)).child({ module: 'probe' });
log.trace('trace line');
log.debug('debug line');
log.info({ n: 1 }, 'info line ' + process.env.PROBE_MARK);
`;

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs PROBE in a child process with the given flags. `terminal` gives the child a real
 * pseudo-terminal as stdout (util-linux `script`); otherwise stdout is a pipe.
 */
function probe(flags: string[], opts: { terminal?: boolean; env?: NodeJS.ProcessEnv; mark?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...opts.env,
    PROBE_TSX: TSX,
    PROBE_CODE: PROBE,
    PROBE_CONFIG: path.join(ROOT, 'server/src/config/index.ts'),
    PROBE_LOG: path.join(ROOT, 'server/src/log.ts'),
    PROBE_ARGS: JSON.stringify(['--config', emptyConfig(), ...flags]),
    PROBE_MARK: opts.mark ?? '',
  };
  const node = 'exec node --import "$PROBE_TSX" --input-type=module -e "$PROBE_CODE"';
  const child = opts.terminal
    ? spawn('script', ['-qec', node, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('sh', ['-c', node], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout: stdout.replaceAll('\r\n', '\n'), stderr, code }));
  });
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A logger on a stream that is not a terminal, with the lines it wrote. */
function captured(flags: string[]): { lines: () => Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (c: Buffer) => (text += c.toString()));
  const log = createLogger({ ...logOptions(loadConfig(['--config', emptyConfig(), ...flags], {})), destination: sink });
  return { log, lines: () => jsonLines(text) };
}

const hasScript = existsSync('/usr/bin/script') || existsSync('/bin/script');
const ESC = '\u001b[';

describe('log output (contract §11.1 log.*)', () => {
  test('a pipe gets JSON lines with the module field and the unix time in seconds', async () => {
    const run = await probe([]);
    assert.equal(run.code, 0, run.stderr);
    const lines = jsonLines(run.stdout);
    assert.equal(lines.length, 1, run.stdout);
    const [line] = lines;
    assert.equal(line!.msg, 'info line ');
    assert.equal(line!.module, 'probe');
    assert.equal(line!.level, 30);
    assert.ok(Number.isInteger(line!.time), String(line!.time));
    assert.ok(Math.abs((line!.time as number) - Date.now() / 1000) < 600, `time ${String(line!.time)} is not in seconds`);
  });

  test('a terminal gets human-readable, coloured lines', { skip: !hasScript && 'no util-linux script' }, async () => {
    const run = await probe([], { terminal: true });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /INFO/);
    assert.match(run.stdout, /\[probe\] info line/);
    assert.ok(run.stdout.includes(ESC), `no colour in ${JSON.stringify(run.stdout)}`);
    assert.throws(() => JSON.parse(run.stdout.split('\n')[0]!));
  });

  test('log.nocolor and NO_COLOR drop the colours on a terminal', { skip: !hasScript && 'no util-linux script' }, async () => {
    for (const run of [await probe(['--log.nocolor'], { terminal: true }), await probe([], { terminal: true, env: { NO_COLOR: '1' } })]) {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /INFO.*\[probe\] info line/);
      assert.ok(!run.stdout.includes(ESC), `colour in ${JSON.stringify(run.stdout)}`);
    }
  });

  test('log.json gives JSON lines on a terminal too', { skip: !hasScript && 'no util-linux script' }, async () => {
    const run = await probe(['--log.json'], { terminal: true });
    assert.equal(run.code, 0, run.stderr);
    const lines = jsonLines(run.stdout);
    assert.equal(lines.length, 1, run.stdout);
    assert.equal(lines[0]!.module, 'probe');
  });

  test('log.dir writes to neko-latest.log instead of stdout and keeps the previous run under a dated name', async () => {
    const dir = path.join(tempDir(), 'logs');
    const first = await probe(['--log.dir', dir], { mark: 'first' });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, '');
    assert.deepEqual(jsonLines(readFileSync(path.join(dir, LOG_FILE), 'utf8')).map((l) => l.msg), ['info line first']);

    const second = await probe(['--log.dir', dir], { mark: 'second' });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(jsonLines(readFileSync(path.join(dir, LOG_FILE), 'utf8')).map((l) => l.msg), ['info line second']);
    const rotated = readdirSync(dir).filter((f) => f !== LOG_FILE);
    assert.equal(rotated.length, 1, rotated.join());
    assert.match(rotated[0]!, /^neko\.\d{4}-\d\d-\d\dT[\d-]+\.\d+Z\.log$/);
    assert.deepEqual(jsonLines(readFileSync(path.join(dir, rotated[0]!), 'utf8')).map((l) => l.msg), ['info line first']);
  });

  test('a log.dir that cannot be created is an error, not silence', () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    assert.throws(() => createLogger({ dir: path.join(file, 'logs') }), /ENOTDIR|EEXIST/);
  });

  test('log.time sets the unit of the time field', () => {
    const now = Date.now();
    const expected = { unix: now / 1000, unixms: now, unixmicro: now * 1000 };
    for (const [unit, value] of Object.entries(expected)) {
      const { log, lines } = captured(['--log.time', unit]);
      log.info('tick');
      const time = lines()[0]!.time as number;
      assert.ok(Number.isInteger(time), `${unit}: ${time}`);
      // Ten minutes of slack: only the order of magnitude tells the units apart.
      assert.ok(Math.abs(time - value) < 600 * (value / (now / 1000)), `${unit}: ${time} vs ${value}`);
    }
  });

  test('log.level filters, debug raises it to debug but keeps trace, disabled writes nothing', () => {
    const cases: Array<[string[], string[]]> = [
      [[], ['info']],
      [['--log.level', 'warn'], []],
      [['--debug'], ['debug', 'info']],
      [['--debug', '--log.level', 'trace'], ['trace', 'debug', 'info']],
      [['--log.level', 'disabled'], []],
    ];
    for (const [flags, want] of cases) {
      const { log, lines } = captured(flags);
      log.trace('trace');
      log.debug('debug');
      log.info('info');
      assert.deepEqual(lines().map((l) => l.msg), want, flags.join(' '));
    }
  });
});
