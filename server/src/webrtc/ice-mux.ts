/**
 * Single-port ICE (contract §9.3 `webrtc.udpmux` / `webrtc.tcpmux`). werift gives every peer
 * its own sockets and has no shared-socket mode, so the mux is a relay in front of them:
 * every viewer talks to one public UDP port (and/or one TCP port, RFC 4571 framing) and the
 * mux forwards each remote endpoint to the loopback socket of the peer its ICE username
 * names, through a loopback socket of its own per remote endpoint. The peer therefore sees
 * each viewer as a distinct peer-reflexive address and answers through the relay.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../log.js';

export interface IceMuxOptions {
  /** UDP port to listen on (all IPv4 interfaces); 0 = no UDP mux. */
  udpPort: number;
  /** TCP port to listen on (all IPv4 interfaces); 0 = no TCP mux. */
  tcpPort: number;
  /** Addresses advertised in the mux candidates. */
  addresses: string[];
  logger: Logger;
  /** Relays idle this long are dropped (default 30 s; ICE consent checks run every few seconds). */
  idleMs?: number;
}

/** A peer's entry: the ICE usernames it answers to and its loopback port. */
export interface MuxRegistration {
  /** Adds the local ufrag of a new (e.g. restarted) ICE generation. */
  addUfrag(ufrag: string): void;
  /** Forgets the peer and drops its relays; idempotent. */
  close(): void;
}

/** Hard limits on what remote endpoints can make the mux hold. */
const MAX_RELAYS = 1024;
const MAX_TCP_FRAME = 0xffff;
/** Beyond this much unsent data a TCP viewer loses packets instead of growing our memory. */
const MAX_TCP_BACKLOG = 1 << 20;
/** A TCP connection must name a known peer within this time. */
const TCP_HELLO_MS = 10_000;

const STUN_MAGIC = 0x2112a442;
const STUN_BINDING_REQUEST = 0x0001;
const STUN_USERNAME = 0x0006;

/** The local ufrag a STUN binding request is addressed to (`USERNAME` = "ours:theirs"), or null. */
export function stunTargetUfrag(msg: Buffer): string | null {
  if (msg.length < 20 || (msg[0]! & 0xc0) !== 0) return null;
  if (msg.readUInt16BE(0) !== STUN_BINDING_REQUEST || msg.readUInt32BE(4) !== STUN_MAGIC) return null;
  const end = Math.min(msg.length, 20 + msg.readUInt16BE(2));
  for (let off = 20; off + 4 <= end; ) {
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    if (off + 4 + len > end) return null;
    if (type === STUN_USERNAME) {
      const username = msg.toString('utf8', off + 4, off + 4 + len);
      const colon = username.indexOf(':');
      return colon > 0 ? username.slice(0, colon) : null;
    }
    off += 4 + ((len + 3) & ~3);
  }
  return null;
}

interface Entry {
  port: number;
  ufrags: Set<string>;
}

/** One remote endpoint's loopback leg towards its peer. */
class Relay {
  readonly socket = dgram.createSocket('udp4');
  lastSeen = Date.now();

  constructor(
    public entry: Entry,
    send: (packet: Buffer) => void,
    onError: (err: Error) => void,
  ) {
    this.socket.on('message', (packet) => {
      this.lastSeen = Date.now();
      send(packet);
    });
    this.socket.on('error', onError);
    // Sends issued while binding are queued by Node.
    this.socket.bind(0, '127.0.0.1');
  }

  forward(packet: Buffer): void {
    this.lastSeen = Date.now();
    this.socket.send(packet, this.entry.port, '127.0.0.1');
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export class IceMux {
  private readonly log: Logger;
  private readonly byUfrag = new Map<string, Entry>();
  private readonly relays = new Set<Relay>();
  private readonly udpRelays = new Map<string, Relay>();
  private readonly tcpConnections = new Set<net.Socket>();
  private readonly tcpRelays = new Map<Relay, net.Socket>();
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly opts: IceMuxOptions) {
    this.log = opts.logger.child({ module: 'ice-mux' });
  }

  static async listen(opts: IceMuxOptions): Promise<IceMux> {
    const mux = new IceMux(opts);
    try {
      if (opts.udpPort) await mux.listenUdp(opts.udpPort);
      if (opts.tcpPort) await mux.listenTcp(opts.tcpPort);
    } catch (err) {
      await mux.close();
      throw err;
    }
    const idleMs = opts.idleMs ?? 30_000;
    mux.sweeper = setInterval(() => mux.sweep(idleMs), Math.min(idleMs, 10_000));
    mux.sweeper.unref?.();
    mux.log.info({ udp: opts.udpPort || undefined, tcp: opts.tcpPort || undefined, addresses: opts.addresses }, 'ICE mux listening');
    return mux;
  }

  get udpEnabled(): boolean {
    return this.opts.udpPort > 0;
  }

  /** SDP candidate attributes (without `a=`) every peer advertises. */
  candidates(): string[] {
    const out: string[] = [];
    this.opts.addresses.forEach((address, i) => {
      // RFC 8445 priority for host candidates; TCP ranks below UDP.
      if (this.opts.udpPort) out.push(`candidate:${1000 + i} 1 udp ${(126 << 24) + ((65535 - i) << 8) + 255} ${address} ${this.opts.udpPort} typ host`);
      if (this.opts.tcpPort) out.push(`candidate:${2000 + i} 1 tcp ${(126 << 24) + ((32767 - i) << 8) + 255} ${address} ${this.opts.tcpPort} typ host tcptype passive`);
    });
    return out;
  }

  /** Routes remote endpoints whose checks name one of the registration's ufrags to `port`. */
  register(port: number): MuxRegistration {
    const entry: Entry = { port, ufrags: new Set() };
    let closed = false;
    return {
      addUfrag: (ufrag) => {
        if (closed) return;
        entry.ufrags.add(ufrag);
        this.byUfrag.set(ufrag, entry);
      },
      close: () => {
        if (closed) return;
        closed = true;
        for (const ufrag of entry.ufrags) if (this.byUfrag.get(ufrag) === entry) this.byUfrag.delete(ufrag);
        for (const relay of [...this.relays]) if (relay.entry === entry) this.dropRelay(relay);
      },
    };
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const relay of [...this.relays]) this.dropRelay(relay);
    for (const conn of this.tcpConnections) conn.destroy();
    this.byUfrag.clear();
    const udp = this.udp;
    const tcp = this.tcp;
    this.closing = Promise.all([
      udp && new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp && new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]).then(() => undefined);
    return this.closing;
  }

  private async listenUdp(port: number): Promise<void> {
    const udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.log.warn({ err }, 'UDP mux socket error'));
    udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo.address, rinfo.port));
    this.udp = udp;
  }

  private async listenTcp(port: number): Promise<void> {
    const tcp = net.createServer((conn) => this.onTcp(conn));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, '0.0.0.0', () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (err) => this.log.warn({ err }, 'TCP mux server error'));
    this.tcp = tcp;
  }

  /** The registration a packet is for: a binding request's ufrag, else where it went before. */
  private route(msg: Buffer, current: Entry | null): Entry | null {
    const ufrag = stunTargetUfrag(msg);
    return (ufrag !== null ? this.byUfrag.get(ufrag) : undefined) ?? current;
  }

  private newRelay(entry: Entry, send: (packet: Buffer) => void, onError: (err: Error) => void): Relay | null {
    if (this.relays.size >= MAX_RELAYS) {
      this.log.warn({ limit: MAX_RELAYS }, 'ICE mux relay limit reached; endpoint ignored');
      return null;
    }
    const relay = new Relay(entry, send, onError);
    this.relays.add(relay);
    return relay;
  }

  private onUdp(msg: Buffer, address: string, port: number): void {
    const key = `${address}:${port}`;
    let relay = this.udpRelays.get(key) ?? null;
    const entry = this.route(msg, relay?.entry ?? null);
    if (!entry) return;
    if (!relay) {
      relay = this.newRelay(
        entry,
        (packet) => this.udp?.send(packet, port, address),
        (err) => this.log.debug({ err, remote: key }, 'UDP relay error'),
      );
      if (!relay) return;
      this.udpRelays.set(key, relay);
      this.log.debug({ remote: key, port: entry.port }, 'UDP mux endpoint added');
    }
    relay.entry = entry;
    relay.forward(msg);
  }

  private onTcp(conn: net.Socket): void {
    if (this.tcpConnections.size >= MAX_RELAYS) {
      conn.destroy();
      return;
    }
    this.tcpConnections.add(conn);
    const remote = `${conn.remoteAddress}:${conn.remotePort}`;
    let relay: Relay | null = null;
    let pending = Buffer.alloc(0);
    const hello = setTimeout(() => conn.destroy(), TCP_HELLO_MS);
    const send = (packet: Buffer) => {
      if (packet.length > MAX_TCP_FRAME || conn.destroyed || conn.writableLength > MAX_TCP_BACKLOG) return;
      const header = Buffer.alloc(2);
      header.writeUInt16BE(packet.length);
      conn.write(Buffer.concat([header, packet]));
    };
    conn.setNoDelay(true);
    conn.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const size = pending.readUInt16BE(0);
        if (pending.length < 2 + size) break;
        const frame = pending.subarray(2, 2 + size);
        pending = pending.subarray(2 + size);
        const entry = this.route(frame, relay?.entry ?? null);
        if (!entry) {
          // Nothing to talk to: a connection that does not open with a known ICE check is dropped.
          if (!relay) conn.destroy();
          return;
        }
        if (!relay) {
          clearTimeout(hello);
          relay = this.newRelay(entry, send, (err) => this.log.debug({ err, remote }, 'TCP relay error'));
          if (!relay) {
            conn.destroy();
            return;
          }
          this.tcpRelays.set(relay, conn);
          this.log.debug({ remote, port: entry.port }, 'TCP mux endpoint added');
        }
        relay.entry = entry;
        relay.forward(Buffer.from(frame));
      }
    });
    const gone = () => {
      clearTimeout(hello);
      this.tcpConnections.delete(conn);
      if (relay) this.dropRelay(relay);
      relay = null;
    };
    conn.on('close', gone);
    conn.on('error', (err) => this.log.debug({ err, remote }, 'TCP mux connection error'));
  }

  private dropRelay(relay: Relay): void {
    if (!this.relays.delete(relay)) return;
    relay.close();
    for (const [key, r] of this.udpRelays) if (r === relay) this.udpRelays.delete(key);
    // A TCP endpoint without its relay has nothing left to carry.
    this.tcpRelays.get(relay)?.destroy();
    this.tcpRelays.delete(relay);
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const relay of [...this.relays]) if (now - relay.lastSeen > idleMs) this.dropRelay(relay);
  }
}
