import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../../server/src/config/index.js';
import { silentLogger } from '../../../server/src/log.js';
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

  before(async () => {
    server = http.createServer((req, res) => {
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

  test('configured IPs win and nothing is fetched', async () => {
    const c = config('--webrtc.nat1to1', '192.0.2.1', '--webrtc.ip_retrieval_url', `${base}/ip`);
    assert.deepEqual(await resolveNat1to1(c, silentLogger()), ['192.0.2.1']);
  });

  test('without configured IPs the retrieval URL provides one', async () => {
    assert.deepEqual(await resolveNat1to1(config('--webrtc.ip_retrieval_url', `${base}/ip`), silentLogger()), ['198.51.100.23']);
  });

  test('an empty URL, an error status, a non-address body or no server leave host candidates alone', async () => {
    assert.deepEqual(await resolveNat1to1(config('--webrtc.ip_retrieval_url', ''), silentLogger()), []);
    assert.deepEqual(await resolveNat1to1(config('--webrtc.ip_retrieval_url', `${base}/fail`), silentLogger()), []);
    assert.deepEqual(await resolveNat1to1(config('--webrtc.ip_retrieval_url', `${base}/html`), silentLogger()), []);
    assert.deepEqual(await resolveNat1to1(config('--webrtc.ip_retrieval_url', 'http://127.0.0.1:1/'), silentLogger()), []);
  });
});
