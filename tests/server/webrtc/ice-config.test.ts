import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../../server/src/config/index.js';
import { createLogger } from '../../../server/src/log.js';
import { iceSettings, muxAddresses, resolveNat1to1 } from '../../../server/src/webrtc/ice-config.js';

const config = (...flags: string[]) => loadConfig(flags, {});

describe('ICE settings (contract §9.3)', () => {
  test('defaults: public STUN on both sides, port range 59000-59100, trickle, full ICE', () => {
    const s = iceSettings(config());
    assert.deepEqual(s.frontendIceServers, [{ urls: ['stun:stun.l.google.com:19302'] }]);
    assert.deepEqual(s.backendIceServers, [{ urls: ['stun:stun.l.google.com:19302'] }]);
    assert.deepEqual(s.portRange, [59000, 59100]);
    assert.equal(s.trickle, true);
    assert.equal(s.iceLite, false);
    assert.deepEqual([s.udpMux, s.tcpMux], [0, 0]);
  });

  test('the UDP mux wins over epr; epr is used without it; a TCP mux alone leaves ports free', () => {
    assert.equal(iceSettings(config('--webrtc.udpmux', '5000', '--webrtc.epr', '6000-6010')).portRange, undefined);
    assert.deepEqual(iceSettings(config('--webrtc.epr', '6000-6010')).portRange, [6000, 6010]);
    assert.equal(iceSettings(config('--webrtc.tcpmux', '5001')).portRange, undefined);
  });

  test('ICE-lite drops the backend servers but still tells clients the frontend ones', () => {
    const s = iceSettings(config('--webrtc.icelite', '--webrtc.iceservers.frontend', '[{"urls":["stun:a.example:3478"]}]'));
    assert.equal(s.iceLite, true);
    assert.deepEqual(s.backendIceServers, []);
    assert.deepEqual(s.frontendIceServers, [{ urls: ['stun:a.example:3478'] }]);
  });

  test('mux candidates advertise the NAT 1:1 addresses, else loopback and the interfaces', () => {
    assert.deepEqual(muxAddresses(['203.0.113.5', '203.0.113.6']), ['203.0.113.5', '203.0.113.6']);
    assert.equal(muxAddresses([])[0], '127.0.0.1');
  });
});

describe('public IP retrieval for NAT 1:1', () => {
  let server: http.Server;
  let base: string;
  let requests = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      requests++;
      if (req.url === '/ip') res.end('198.51.100.23\n');
      else if (req.url === '/html') res.end('<html>not an address</html>');
      else {
        res.statusCode = 500;
        res.end('198.51.100.99');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Runs one lookup and returns its result, the requests it made and the log lines it wrote. */
  async function resolve(...flags: string[]): Promise<{ ips: string[]; requests: number; lines: Array<Record<string, unknown>> }> {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const before = requests;
    const ips = await resolveNat1to1(config(...flags), createLogger({ level: 'debug', destination: sink }));
    const lines = Buffer.concat(chunks).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    return { ips, requests: requests - before, lines };
  }

  test('configured IPs win and nothing is fetched', async () => {
    const r = await resolve('--server.bind', '0.0.0.0:8080', '--webrtc.nat1to1', '192.0.2.1', '--webrtc.ip_retrieval_url', `${base}/ip`);
    assert.deepEqual(r.ips, ['192.0.2.1']);
    assert.equal(r.requests, 0);
  });

  test('a server that listens on loopback only asks no one', async () => {
    for (const bind of ['127.0.0.1:8080', '127.0.0.2:8080', '[::1]:8080', 'localhost:8080']) {
      const r = await resolve('--server.bind', bind, '--webrtc.ip_retrieval_url', `${base}/ip`);
      assert.deepEqual(r.ips, [], bind);
      assert.equal(r.requests, 0, `${bind} made a request`);
    }
  });

  test('a server on every interface asks the retrieval URL once', async () => {
    for (const bind of ['0.0.0.0:8080', ':8080', '[::]:8080']) {
      const r = await resolve('--server.bind', bind, '--webrtc.ip_retrieval_url', `${base}/ip`);
      assert.deepEqual(r.ips, ['198.51.100.23'], bind);
      assert.equal(r.requests, 1, bind);
    }
  });

  test('an empty URL asks no one', async () => {
    const r = await resolve('--server.bind', '0.0.0.0:8080', '--webrtc.ip_retrieval_url', '');
    assert.deepEqual(r.ips, []);
    assert.equal(r.requests, 0);
  });

  test('an error status, a non-address body or no server: host candidates stay, one warning line, no stack', async () => {
    for (const url of [`${base}/fail`, `${base}/html`, 'http://127.0.0.1:1/']) {
      const r = await resolve('--server.bind', '0.0.0.0:8080', '--webrtc.ip_retrieval_url', url);
      assert.deepEqual(r.ips, [], url);
      assert.equal(r.lines.length, 1, `${url}: ${JSON.stringify(r.lines)}`);
      const [line] = r.lines;
      assert.equal(line!.level, 40, url);
      assert.equal(line!.url, url);
      assert.equal(typeof line!.reason, 'string');
      assert.doesNotMatch(JSON.stringify(line), /stack|\n\s+at /, url);
    }
  });
});
