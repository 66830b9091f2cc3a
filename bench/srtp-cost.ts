/**
 * The sending half of fan-out, alone: CPU of this process per RTP packet sent to one werift
 * receiver (in a child process, so its CPU is not ours), for
 * - werift's own path (`MediaStreamTrack.writeRtp`), what the server used before;
 * - the server's SRTP forwarder with server/native's sender, AEAD-AES-128-GCM and
 *   AES-128-CM-HMAC-SHA1-80 (its sender thread's CPU included);
 * - the same forwarder in JavaScript (what runs when the addon is not built), GCM;
 * - the JavaScript floor: the same GCM sealing and `dgram.send` of a packet of the same size to
 *   a plain UDP socket, no WebRTC at all.
 * Packets go out 10 per millisecond: frame bursts, as the server sends them.
 *
 * Run as a child of bench/media.ts (`node --import tsx bench/srtp-cost.ts`) or alone; it
 * prints one JSON line.
 */
import { fork } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { SrtpForwarder, writeRtpHeader } from '../server/src/webrtc/srtp-forwarder.js';

const PACKETS = Number(process.env.SRTP_COST_PACKETS ?? 6000);
const BURST = 10;
const PAYLOAD = 1150;
const SELF = fileURLToPath(import.meta.url);

export interface SrtpCost {
  /** µs of CPU per packet. */
  werift: number;
  gcm: number;
  cm: number;
  gcmJs: number;
  floor: number;
}

const config = () => ({
  iceServers: [],
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceUseIpv6: false,
  bundlePolicy: 'max-bundle' as const,
  codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96 })], audio: [] },
});

type ToChild = { offer: { type: 'offer'; sdp: string }; profiles: number[] } | { udp: true } | { count: true };

async function receiver(): Promise<void> {
  let got = 0;
  process.on('message', async (m: ToChild) => {
    if ('offer' in m) {
      const pc = new RTCPeerConnection(config());
      pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => got++));
      await pc.setRemoteDescription(m.offer);
      for (const t of pc.dtlsTransports) (t as unknown as { srtpProfiles: number[] }).srtpProfiles = m.profiles;
      await pc.setLocalDescription(await pc.createAnswer());
      process.send!({ answer: pc.localDescription });
    } else if ('udp' in m) {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      socket.on('message', () => got++);
      socket.bind(0, '127.0.0.1', () => process.send!({ port: socket.address().port }));
    } else {
      process.send!({ got });
    }
  });
}

function sourcePacket(i: number): Buffer {
  const out = Buffer.alloc(12 + PAYLOAD, i & 0xff);
  writeRtpHeader(out, { marker: i % BURST === BURST - 1, payloadType: 96, seq: i & 0xffff, ts: Math.floor(i / BURST) * 3000, ssrc: 1, playoutDelayId: null });
  return out;
}

/** CPU µs per packet of `send`, called in bursts of BURST per millisecond. */
async function measure(send: (pkt: Buffer, i: number) => void): Promise<number> {
  const packets = Array.from({ length: PACKETS + 500 }, (_, i) => sourcePacket(i));
  for (let i = 0; i < 500; i++) {
    send(packets[i]!, i);
    if (i % BURST === BURST - 1) await new Promise((r) => setTimeout(r, 1));
  }
  const start = process.cpuUsage();
  for (let i = 500; i < packets.length; i++) {
    send(packets[i]!, i);
    if (i % BURST === BURST - 1) await new Promise((r) => setTimeout(r, 1));
  }
  const used = process.cpuUsage(start);
  // The sleeps cost CPU too (a wake-up per burst): measured alone and taken off.
  const idle = process.cpuUsage();
  for (let i = 0; i < PACKETS; i += BURST) await new Promise((r) => setTimeout(r, 1));
  const idleUsed = process.cpuUsage(idle);
  return Math.max(0, used.user + used.system - idleUsed.user - idleUsed.system) / PACKETS;
}

async function main(): Promise<void> {
  const child = fork(SELF, ['receiver'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ask = <T>(m: ToChild) =>
    new Promise<T>((resolve) => {
      child.once('message', (r) => resolve(r as T));
      child.send(m);
    });
  const peers: RTCPeerConnection[] = [];
  const connect = async (profiles: number[]) => {
    const pc = new RTCPeerConnection(config());
    peers.push(pc);
    const track = new MediaStreamTrack({ kind: 'video' });
    const { sender } = pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const { answer } = await ask<{ answer: { type: 'answer'; sdp: string } }>({ offer: pc.localDescription as { type: 'offer'; sdp: string }, profiles });
    await pc.setRemoteDescription(answer);
    await new Promise<void>((resolve) => {
      if (pc.connectionState === 'connected') resolve();
      pc.connectionStateChange.subscribe((s) => s === 'connected' && resolve());
    });
    return { track, sender };
  };
  try {
    const a = await connect([7, 1]);
    const werift = await measure((pkt) => a.track.writeRtp(Buffer.from(pkt)));
    const b = await connect([7]);
    const gcmFwd = new SrtpForwarder(b.sender, { playoutDelayId: () => null });
    const gcm = await measure((pkt) => gcmFwd.send(pkt));
    const c = await connect([1]);
    const cmFwd = new SrtpForwarder(c.sender, { playoutDelayId: () => null });
    const cm = await measure((pkt) => cmFwd.send(pkt));
    const d = await connect([7]);
    const jsFwd = new SrtpForwarder(d.sender, { playoutDelayId: () => null, engine: 'js' });
    const gcmJs = await measure((pkt) => jsFwd.send(pkt));
    if (gcmFwd.stats.fallback || cmFwd.stats.fallback || jsFwd.stats.fallback) throw new Error('the forwarder fell back to werift');
    if (gcmFwd.engine !== 'native') throw new Error('server/native\'s SRTP sender is not built (scripts/build-native.sh)');

    const { port } = await ask<{ port: number }>({ udp: true });
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const key = randomBytes(16);
    const iv = Buffer.alloc(12);
    const floor = await measure((pkt, i) => {
      const out = Buffer.allocUnsafe(pkt.length + 16);
      pkt.copy(out, 0, 0, 12);
      iv.writeUInt32BE(i, 8);
      const cipher = createCipheriv('aes-128-gcm', key, iv);
      cipher.setAAD(out.subarray(0, 12));
      cipher.update(pkt.subarray(12)).copy(out, 12);
      cipher.final();
      cipher.getAuthTag().copy(out, pkt.length);
      socket.send(out, port, '127.0.0.1');
    });
    socket.close();
    const result: SrtpCost = { werift, gcm, cm, gcmJs, floor };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.all(peers.map((pc) => pc.close()));
    child.kill();
  }
}

if (process.argv[2] === 'receiver') await receiver();
else if (process.argv[1] === SELF) {
  await main();
  process.exit(0);
}

/** Runs this file as a child process (its CPU only) and returns what it measured. */
export async function srtpCost(): Promise<SrtpCost> {
  const child = fork(SELF, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`srtp cost probe exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as SrtpCost;
}
