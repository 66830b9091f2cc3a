import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../helpers/ports.js';
import { FUZZ_SEED, seededRandom } from '../../helpers/prng.js';
import { SocketClient } from '../../helpers/viewer.js';

/**
 * Attacks below the JSON layer: raw TCP sockets speaking broken WebSocket framing and
 * broken HTTP, and malformed datagrams to the ICE mux. The server runs in a child process,
 * so a crash shows up as that process exiting (with its last output in the failure) and
 * not as this test runner dying. Replay a run with FUZZ_SEED.
 */

const SEED = FUZZ_SEED;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAX_PAYLOAD = 65536;
/** A socket the server neither answers nor closes is given up on after this long. */
const SOCKET_WAIT_MS = 3000;

const { int, pick, bytes } = seededRandom(SEED);

/** The server as its own process, started the way an operator starts it. */
class ServerProcess {
  readonly exited: Promise<string>;
  private exitedWith: string | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** The last lines it wrote, kept up to date. */
    private readonly tail: string[],
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(`code ${code}, signal ${signal}`)));
    void this.exited.then((how) => (this.exitedWith = how));
  }

  static async start(flags: string[]): Promise<ServerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', ...flags], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      lines.splice(0, Math.max(0, lines.length - 60));
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${lines.join('\n')}`)), 60_000);
      child.stderr!.on('data', () => {
        const m = /open (https?:\/\/[^\s/]+)\//.exec(lines.join('\n'));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} while starting:\n${lines.join('\n')}`));
      });
    });
    return new ServerProcess(child, url, lines);
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** Fails with the server's last words if it is gone. */
  assertAlive(after: string): void {
    if (this.exitedWith !== null || this.child.exitCode !== null) {
      assert.fail(`the server died after ${after} (${this.exitedWith ?? this.child.exitCode}); its last output:\n${this.tail.slice(-25).join('\n')}`);
    }
  }

  /** GET /health, or the server's death, whichever comes first. */
  async health(after: string): Promise<number> {
    const died = this.exited.then(() => 'died' as const);
    const res = await Promise.race([fetch(`${this.url}/health`).then((r) => r.status, () => 0), died]);
    this.assertAlive(after);
    return res === 'died' ? 0 : res;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(killer);
  }
}

/** A raw TCP client that records everything it receives. */
class RawSocket {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    void this.closed.then(() => this.wake());
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Resolves true once `ready()` holds, false when the socket closed or time ran out first. */
  async until(ready: () => boolean, ms = SOCKET_WAIT_MS): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (this.isClosed || Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Waits for the server to close the connection, then makes sure it is gone either way. */
  async finish(ms = SOCKET_WAIT_MS): Promise<void> {
    await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, ms))]);
    this.socket.destroy();
  }

  /** The HTTP status line's code, once a response head arrived. */
  status(): number | null {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(this.received.toString('latin1'));
    return m ? Number(m[1]) : null;
  }

  headEnd(): number {
    return this.received.indexOf('\r\n\r\n');
  }
}

function upgradeRequest(port: number, target = '/api/ws', extra: string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  masked?: boolean;
  payload?: Buffer;
  /** A length field that disagrees with the payload. */
  claimed?: number | bigint;
}

/** A client frame (RFC 6455 §5.2), honest or not. */
function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const masked = spec.masked ?? true;
  const claimed = spec.claimed ?? payload.length;
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (typeof claimed === 'bigint' || claimed > 0xffff) {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(claimed));
  } else if (claimed > 125) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(claimed);
  } else {
    head.push(maskBit | claimed);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

const text = (s: string) => frame({ opcode: 1, payload: Buffer.from(s) });

/** One invalid (or merely odd) client frame sequence, each a way ws's parser must refuse or survive. */
function invalidFrames(): Buffer {
  const small = bytes(int(40));
  switch (int(16)) {
    case 0: return frame({ opcode: 1, rsv: 1 + int(7), payload: small });
    case 1: return frame({ opcode: pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), payload: small });
    case 2: return frame({ opcode: 1, masked: false, payload: Buffer.from('{"event":"client/heartbeat"}') });
    case 3: return frame({ opcode: pick([8, 9, 10]), payload: bytes(126 + int(200)) });
    case 4: return frame({ opcode: pick([9, 10]), fin: false, payload: small });
    case 5: return frame({ opcode: 0, payload: small });
    case 6: return frame({ opcode: 1, payload: Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]) });
    case 7: return frame({ opcode: 8, payload: Buffer.from([0x03]) });
    case 8: {
      const body = Buffer.alloc(2 + int(10));
      body.writeUInt16BE(pick([0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535]));
      return frame({ opcode: 8, payload: body });
    }
    case 9: return frame({ opcode: 2, claimed: 2n ** 63n + BigInt(int(1000)), payload: small });
    case 10: return frame({ opcode: 1, claimed: MAX_PAYLOAD + 1 + int(1 << 20), payload: small });
    case 11: return Buffer.concat([frame({ opcode: 1, fin: false, payload: Buffer.from('{"ev') }), frame({ opcode: 1, payload: small })]);
    case 12: return frame({ opcode: 1, claimed: small.length + 1 + int(500), payload: small });
    case 13: return Buffer.concat(Array.from({ length: 1 + int(50) }, () => frame({ opcode: 0, fin: false, payload: bytes(int(8)) })));
    case 14: return Buffer.concat([Buffer.from([0xa1, 0x80]), bytes(4)]);
    default: return bytes(1 + int(64));
  }
}

/** Server frames are unmasked; returns the text payloads of the complete ones in `data`. */
function serverTexts(data: Buffer): string[] {
  const out: string[] = [];
  let off = 0;
  while (off + 2 <= data.length) {
    const op = data[off]! & 0x0f;
    let len = data[off + 1]! & 0x7f;
    let at = off + 2;
    if (len === 126) {
      if (at + 2 > data.length) break;
      len = data.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (at + 8 > data.length) break;
      len = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > data.length) break;
    if (op === 1) out.push(data.toString('utf8', at, at + len));
    off = at + len;
  }
  return out;
}

/** Logs in; the session cookie carries the token when cookies are on. */
async function loginToken(url: string, username: string): Promise<string> {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'neko' }),
  });
  assert.equal(res.status, 200, `login of ${username}`);
  const cookie = /NEKO_SESSION=([^;]+)/.exec(res.headers.get('set-cookie') ?? '');
  return cookie?.[1] ?? ((await res.json()) as { token: string }).token;
}


/** A STUN binding request (RFC 5389) with the given USERNAME, optionally followed by junk attributes. */
function stunRequest(username: string, junk = Buffer.alloc(0)): Buffer {
  const name = Buffer.from(username);
  const padded = (name.length + 3) & ~3;
  const buf = Buffer.alloc(24 + padded);
  buf.writeUInt16BE(0x0001, 0);
  buf.writeUInt16BE(4 + padded + junk.length, 2);
  buf.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(buf, 8);
  buf.writeUInt16BE(0x0006, 20);
  buf.writeUInt16BE(name.length, 22);
  name.copy(buf, 24);
  return Buffer.concat([buf, junk]);
}

/** Runs `task` over `items`, `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(task));
}

describe(`framing fuzz: broken WebSocket frames, HTTP and ICE datagrams (FUZZ_SEED=${SEED})`, () => {
  let server: ServerProcess;
  let observer: SocketClient;
  let observerId: string;
  let udpMux: number;
  let tcpMux: number;
  const fuzzTokens: string[] = [];

  before(async () => {
    [udpMux, tcpMux] = [await freePort('udp'), await freePort('tcp')];
    server = await ServerProcess.start([
      '--server.bind', '127.0.0.1:0',
      '--desktop.window_manager', '',
      '--desktop.app', '',
      '--desktop.screen', '320x240@30',
      '--webrtc.iceservers.frontend', '[]',
      '--webrtc.nat1to1', '127.0.0.1',
      '--webrtc.udpmux', String(udpMux),
      '--webrtc.tcpmux', String(tcpMux),
      // Cookie parsing is on the unauthenticated path too.
      '--session.cookie.enabled',
      '--session.cookie.secure=false',
    ]);
    const token = await loginToken(server.url, 'observer');
    observer = await SocketClient.open(server.url, token);
    observerId = (await observer.waitFor('system/init')).payload.session_id;
    for (const name of ['f1', 'f2', 'f3']) fuzzTokens.push(await loginToken(server.url, name));
  });

  after(async () => {
    observer?.close();
    await server?.stop();
  });

  test('an RSV2 frame right after an unauthenticated or bogus upgrade', async () => {
    for (const target of ['/api/ws', '/api/ws?token=bogus']) {
      const s = new RawSocket(server.port);
      s.write(upgradeRequest(server.port, target));
      s.write(Buffer.from([0xa1, 0x80, 0x01, 0x02, 0x03, 0x04]));
      await s.finish();
      assert.equal(await server.health(`an RSV2 frame on ${target}`), 200);
    }
  });

  test('random invalid frames before authentication', async () => {
    const cases = Array.from({ length: 80 }, (_, i) => i);
    await inBatches(cases, 8, async (i) => {
      const target = pick(['/api/ws', '/api/ws?token=bogus', `/api/ws?token=${randomBytes(40).toString('base64url')}`, '/api/ws?token=%zz%']);
      const extra = pick([[], ['Cookie: NEKO_SESSION=%E0%A4%A'], ['Authorization: Bearer '], ['Cookie: NEKO_SESSION=bogus; a=%']]);
      const s = new RawSocket(server.port);
      const garbage = Buffer.concat(Array.from({ length: 1 + int(3) }, invalidFrames));
      if (i % 2 === 0) {
        // In the same write as the upgrade: the frames arrive as the upgrade's `head`.
        s.write(Buffer.concat([Buffer.from(upgradeRequest(server.port, target, extra)), garbage]));
      } else {
        s.write(upgradeRequest(server.port, target, extra));
        await s.until(() => s.headEnd() >= 0);
        s.write(garbage);
      }
      await s.finish();
    });
    assert.equal(await server.health('invalid frames before authentication'), 200);
  });

  test('random invalid frames after authentication', async () => {
    let authenticated = 0;
    // One lane per session: a session's next socket comes once its last one is gone.
    await Promise.all(fuzzTokens.map(async (token, lane) => {
      for (let i = 0; i < 10; i++) {
        const s = new RawSocket(server.port);
        s.write(upgradeRequest(server.port, `/api/ws?token=${token}`));
        const texts = () => serverTexts(s.received.subarray(s.headEnd() + 4));
        if (await s.until(() => s.headEnd() >= 0 && texts().length > 0) && texts()[0]!.includes('"system/init"')) authenticated++;
        // A valid event first, then the attack.
        s.write(text('{"event":"client/heartbeat"}'));
        for (let n = 1 + int(3); n > 0; n--) s.write(invalidFrames());
        await s.finish(1500);
        server.assertAlive(`invalid frames after authentication (lane ${lane}, case ${i})`);
      }
    }));
    assert.ok(authenticated >= 10, `${authenticated} of 30 sockets were authenticated before the attack`);
    assert.equal(await server.health('invalid frames after authentication'), 200);
  });

  test('broken handshakes: partial upgrades, resets, bad versions and keys, odd targets', async () => {
    const port = server.port;
    const full = upgradeRequest(port);
    const cases: Array<() => Promise<void>> = [
      async () => {
        const s = new RawSocket(port);
        s.write(full.slice(0, 1 + int(full.length - 2)));
        s.socket.destroy();
      },
      async () => {
        const s = new RawSocket(port);
        s.write(full.slice(0, 1 + int(full.length - 2)));
        s.write(invalidFrames());
        await s.finish(500);
      },
      async () => {
        // A reset right after the upgrade request: the server writes into a dead socket.
        const s = new RawSocket(port);
        s.write(full);
        await new Promise<void>((resolve) => s.socket.once('connect', () => resolve()));
        s.socket.resetAndDestroy();
      },
      async () => {
        // A reset while the refusal is on its way.
        const s = new RawSocket(port);
        s.write(upgradeRequest(port, '/api/ws', ['Origin: http://evil.example']));
        await s.until(() => s.received.length > 0, 500);
        s.socket.resetAndDestroy();
      },
      async () => {
        const s = new RawSocket(port);
        s.write(upgradeRequest(port, pick(['/api/ws', '/nowhere', '//[', '/api/ws/../ws', '/%', '*', 'http://x/api/ws', '/api/ws?' + 'q'.repeat(8000)])));
        s.write(invalidFrames());
        await s.finish();
      },
      async () => {
        const s = new RawSocket(port);
        const req = full
          .replace('Sec-WebSocket-Version: 13', pick(['Sec-WebSocket-Version: 99', 'Sec-WebSocket-Version: x', '']))
          .replace(/Sec-WebSocket-Key: .*/, pick(['Sec-WebSocket-Key: short', 'Sec-WebSocket-Key: ' + 'A'.repeat(500), '']));
        s.write(req);
        s.write(bytes(int(100)));
        await s.finish();
      },
      async () => {
        const s = new RawSocket(port);
        s.write(upgradeRequest(port, '/api/ws', ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99; x', 'Sec-WebSocket-Protocol: ,,,\u00ff']));
        s.write(invalidFrames());
        await s.finish();
      },
      async () => {
        // Headers past Node's limit on an upgrade.
        const s = new RawSocket(port);
        s.write(upgradeRequest(port, '/api/ws', [`X-Big: ${'b'.repeat(20_000)}`]));
        await s.finish();
      },
    ];
    const order = Array.from({ length: 60 }, (_, i) => cases[i % cases.length]!);
    await inBatches(order, 6, (c) => c());
    assert.equal(await server.health('broken handshakes'), 200);
  });

  test('malformed HTTP: request lines, headers, chunked bodies, random bytes', async () => {
    const port = server.port;
    const host = `Host: 127.0.0.1:${port}`;
    const fixed = [
      'GET / HTTP/9.9\r\n\r\n',
      'GET / HTTP/1.1 extra\r\n\r\n',
      'GARBAGE\r\n\r\n',
      ' / HTTP/1.1\r\n\r\n',
      'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /health HTTP/1.1\r\n${host}\r\nX-Nul: a\u0000b\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\nNo colon here\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\nBad Name: x\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\n folded: continuation\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\n\r\n3;${'e'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nContent-Length: -1\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nContent-Length: 99999999999999999999\r\n\r\n`,
      `POST /api/login HTTP/1.1\r\n${host}\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\n\r\nGARBAGE AFTER\r\n\r\n`,
      `GET /api/whoami?token=%zz HTTP/1.1\r\n${host}\r\n\r\n`,
      `GET //[ HTTP/1.1\r\n${host}\r\n\r\n`,
      `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${host}\r\n\r\n`,
      `GET /health HTTP/1.1\r\n${host}\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n`,
      `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
    ];
    const random = Array.from({ length: 40 }, () => {
      const base = pick(fixed);
      const at = int(base.length);
      return base.slice(0, at) + bytes(1 + int(20)).toString('latin1') + base.slice(at);
    });
    const statuses: number[] = [];
    await inBatches([...fixed, ...random], 8, async (raw) => {
      const s = new RawSocket(port);
      s.write(Buffer.from(raw, 'latin1'));
      await s.until(() => s.status() !== null, 1500);
      const status = s.status();
      if (status !== null) statuses.push(status);
      s.socket.destroy();
    });
    assert.ok(statuses.length >= fixed.length, `${statuses.length} of ${fixed.length + random.length} requests were answered`);
    assert.ok(statuses.every((s) => s < 500), `no 5xx for malformed requests (got ${statuses.filter((s) => s >= 500).join(', ')})`);
    assert.equal(await server.health('malformed HTTP'), 200);
  });

  test('malformed datagrams and frames to the UDP and TCP ICE mux', async () => {
    // A peer to aim at: with its ufrag the mux relays what follows into werift's own socket.
    observer.send('signal/request', { video: { disabled: false }, audio: { disabled: true } });
    const provide = await observer.waitFor('signal/provide', () => true, 30_000);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(provide.payload.sdp as string)![1]!;

    const senders = await Promise.all(Array.from({ length: 6 }, async () => {
      const socket = dgram.createSocket('udp4');
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      return socket;
    }));
    const datagram = (): Buffer => {
      switch (int(6)) {
        case 0: return stunRequest(`${ufrag}:remote`, bytes(int(60)));
        case 1: return stunRequest(`${pick([ufrag, 'unknown', ''])}:${randomBytes(int(8)).toString('hex')}`);
        case 2: {
          const msg = stunRequest(`${ufrag}:x`);
          msg.writeUInt16BE(int(0x10000), 22);
          return msg;
        }
        case 3: return stunRequest(`${ufrag}:r`).subarray(0, int(40));
        case 4: return Buffer.alloc(0);
        default: return bytes(1 + int(pick([64, 1500, 9000])));
      }
    };
    for (let round = 0; round < 10; round++) {
      // Each sender names the peer first, so the junk behind it is relayed, not just dropped.
      await Promise.all(senders.map((socket) => new Promise<void>((resolve) => {
        const batch = [stunRequest(`${ufrag}:remote`), ...Array.from({ length: 20 }, datagram)];
        let left = batch.length;
        for (const msg of batch) socket.send(msg, udpMux, '127.0.0.1', () => --left === 0 && resolve());
      })));
    }
    for (const socket of senders) socket.close();

    const tcpCase = async (i: number) => {
      const s = new RawSocket(tcpMux);
      const framed = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
      switch (i % 5) {
        case 0: s.write(Buffer.concat([framed(stunRequest(`${ufrag}:t`)), ...Array.from({ length: 10 }, () => framed(datagram()))])); break;
        case 1: s.write(framed(stunRequest('unknown:t'))); break;
        case 2: s.write(Buffer.concat([framed(stunRequest(`${ufrag}:t`)), Buffer.from([0xff, 0xff]), bytes(100)])); break;
        case 3: s.write(bytes(1 + int(3000))); break;
        default: {
          s.write(framed(stunRequest(`${ufrag}:t`)).subarray(0, 5));
          await new Promise<void>((resolve) => s.socket.once('connect', () => resolve()));
          s.socket.resetAndDestroy();
        }
      }
      await s.finish(300);
    };
    await inBatches(Array.from({ length: 30 }, (_, i) => i), 6, tcpCase);
    assert.equal(await server.health('malformed ICE mux traffic'), 200);
  });

  test('afterwards: the process is alive, /health answers, other sessions are served', async () => {
    assert.equal(await server.health('the fuzzing'), 200);
    assert.equal(observer.ws.readyState, observer.ws.OPEN, 'the observer socket is still open');
    const pong = new Promise<void>((resolve) => observer.ws.once('pong', () => resolve()));
    observer.ws.ping();
    await pong;

    const late = await SocketClient.open(server.url, await loginToken(server.url, 'late'));
    await late.waitFor('system/init');
    const mark = observer.events.length;
    late.send('send/unicast', { receiver: observerId, subject: 'still-alive', body: null });
    await observer.waitFor('send/unicast', (p) => p.subject === 'still-alive');
    assert.ok(observer.events.length > mark);
    late.close();
    server.assertAlive('the final checks');
  });
});
