/**
 * The native half of the SRTP forwarder (server/native/srtp-sender.c, built by
 * scripts/build-native.sh into build/native): one call per packet rewrites the header,
 * protects it with a key schedule made once per session and keeps it for NACKs; one call per
 * event-loop turn hands what was queued to the addon's sender thread, which writes it to the
 * viewer's UDP socket batched with UDP GSO: the kernel's share of forwarding runs on another
 * core than JavaScript. Sender reports leave the same way, protected as SRTCP. Absent when the build had no compiler or Node headers; the
 * forwarder then does the same work in JavaScript.
 */
import { createRequire } from 'node:module';
import type dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

const ADDON = fileURLToPath(new URL('../../../build/native/srtp-sender.node', import.meta.url));

declare const handleBrand: unique symbol;
export type NativeSenderHandle = { readonly [handleBrand]: true };

/** Indices into the Uint32Array each sender reports its last packet in. */
export const INFO = { seq: 0, ts: 1, marker: 2, payload: 3, length: 4, size: 5 } as const;

export interface NativeSrtpAddon {
  create(initialSequence: number, initialTimestamp: number, info: Uint32Array): NativeSenderHandle;
  /** False for a profile or key shape it does not handle (the caller keeps using JavaScript). */
  configure(h: NativeSenderHandle, profile: number, key: Buffer, salt: Buffer, authKey: Buffer | null, ssrc: number, payloadType: number): boolean;
  /**
   * The SRTCP session keys for `sendRtcp`, in the profile `configure` set (which drops them);
   * false when none is set or the keys do not fit it.
   */
  configureRtcp(h: NativeSenderHandle, key: Buffer, salt: Buffer, authKey: Buffer | null): boolean;
  /**
   * Protects a compound RTCP packet (at most 1200 octets) as SRTCP with this 31-bit index and
   * sends it at once: bytes sent, or 0 when it was not (no socket or peer address, the socket
   * buffer full; protect and send it another way). Throws without SRTCP keys.
   */
  sendRtcp(h: NativeSenderHandle, rtcp: Buffer, index: number): number;
  /** False when `address` is not an IP address. */
  setPeer(h: NativeSenderHandle, address: string, port: number): boolean;
  /** Sends from now on go out on a dup of this socket's fd; -1: none (TCP and TURN pairs). */
  setSocket(h: NativeSenderHandle, fd: number): boolean;
  /**
   * Bytes queued for `flush` (a full queue is flushed first); 0 = no socket, built only (send
   * `packet()` another way); -1 = not RTP; -2 = not configured.
   */
  send(h: NativeSenderHandle, source: Buffer, playoutDelayId: number): number;
  /**
   * Hands the queue to the sender thread (runs of equal sizes as one UDP GSO write); returns
   * how many packets the socket has refused so far.
   */
  flush(h: NativeSenderHandle): number;
  /** flush() of each, handed to the sender thread as one batch. */
  flushAll(handles: NativeSenderHandle[]): void;
  /** How many packets the socket has refused so far. */
  dropped(h: NativeSenderHandle): number;
  /** Bytes sent; 0 = not sent (no socket: send `packet()` another way); -1 = no longer held. */
  resend(h: NativeSenderHandle, seq: number): number;
  packet(h: NativeSenderHandle, seq: number): Buffer | null;
  rebase(h: NativeSenderHandle): void;
  close(h: NativeSenderHandle): void;
  /** Whether flushes run on the addon's sender thread (the default) or in the caller. */
  threaded(on: boolean): void;
}

let addon: NativeSrtpAddon | null | undefined;

/** The addon, or null when it was not built (or does not load on this Node). */
export function nativeSrtp(): NativeSrtpAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON) as NativeSrtpAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/**
 * The file descriptor behind a dgram socket, or -1 once it is closed. Node keeps the handle
 * under a private symbol; closing the socket drops it at once, so a closed socket's fd
 * (which the kernel may hand out again) is never returned.
 */
export function socketFd(socket: dgram.Socket): number {
  const state = (socket as unknown as Record<symbol, { handle?: { fd?: number } | null } | undefined>)[stateSymbol(socket)];
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

let stateKey: symbol | null = null;
function stateSymbol(socket: dgram.Socket): symbol {
  stateKey ??= Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol') ?? Symbol('absent');
  return stateKey;
}
