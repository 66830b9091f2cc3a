import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Router } from '@koa/router';
import { loadConfig } from '../../../server/src/config/index.js';
import { HttpServer } from '../../../server/src/http/server.js';
import { silentLogger } from '../../../server/src/log.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';
import { WebSocketGateway } from '../../../server/src/websocket/gateway.js';

/** The HTTP server on its own: a router with one route and a gateway with no events. */
function makeServer(): HttpServer {
  const logger = silentLogger();
  const config = loadConfig([], {});
  const sessions = new SessionManager({ logger, apiToken: '', settings: initialSettings(config.session) });
  const gateway = new WebSocketGateway({
    sessions,
    logger,
    cookie: { enabled: false, name: 'NEKO_SESSION' },
    origins: [],
    maxPayload: 1024,
    rateLimit: 10,
    handlers: {},
    onConnect: () => {},
  });
  const router = new Router();
  router.get('/ping', (ctx) => {
    ctx.body = 'pong';
  });
  return new HttpServer({ bind: '127.0.0.1:0', logger, router, gateway, staticDir: null });
}

/** Sends raw bytes and resolves with everything received until the server closes the socket. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    let got = '';
    socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('HttpServer', () => {
  test('a second close() waits for the first to finish', async () => {
    const server = makeServer();
    const { port } = await server.listen();
    // A keep-alive client holds a connection open, so closing takes a moment.
    const agent = await fetch(`http://127.0.0.1:${port}/ping`, { keepalive: true });
    assert.equal(await agent.text(), 'pong');
    let firstDone = false;
    const first = server.close().then(() => (firstDone = true));
    await server.close();
    assert.equal(firstDone, true, 'the second close() returned before the first finished');
    await first;
    await server.close();
  });

  test('requests Node cannot parse get the contract error body and a closed socket', async () => {
    const server = makeServer();
    const { port } = await server.listen();
    try {
      const bad = await raw(port, 'GARBAGE\r\n\r\n');
      assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.match(bad, /Content-Type: application\/json/);
      assert.match(bad, /\r\n\r\n\{"code":400,"message":"Bad Request"\}\n$/);
      const big = await raw(port, `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
      assert.match(big, /^HTTP\/1\.1 431 /);
      assert.match(big, /\{"code":431,"message":"Request Header Fields Too Large"\}\n$/);
      const upgrade = await raw(port, 'GET //[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      assert.match(upgrade, /^HTTP\/1\.1 404 /);
      assert.match(upgrade, /\{"code":404,"message":"Not Found"\}\n$/);
    } finally {
      await server.close();
    }
  });
});
