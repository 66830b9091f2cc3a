import {
  decodeServerMessage,
  encodeClientMessage,
  joinTimestamp,
  splitTimestamp,
} from '../../server/src/webrtc/datachannel.js';
import type { InputMessage } from './input.js';
import type { Point } from './pointer.js';

export interface CursorImage {
  width: number;
  height: number;
  xhot: number;
  yhot: number;
  /** data: URL of the PNG, usable both as a CSS cursor and as an <img> source. */
  url: string;
}

export interface DataLinkEvents {
  open(open: boolean): void;
  rtt(ms: number): void;
  cursorImage(image: CursorImage): void;
  cursorPosition(position: Point): void;
}

const PING_INTERVAL_MS = 2000;

/** The server's binary `data` channel (protocol.md §8): input out, cursor and pongs in. */
export class DataLink {
  private pingTimer: number | undefined;

  constructor(
    private readonly channel: RTCDataChannel,
    private readonly events: DataLinkEvents,
  ) {
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => this.opened();
    channel.onclose = () => this.closed();
    channel.onmessage = (ev: MessageEvent) => {
      if (ev.data instanceof ArrayBuffer) this.receive(new Uint8Array(ev.data));
    };
    if (channel.readyState === 'open') this.opened();
  }

  private get isOpen(): boolean {
    return this.channel.readyState === 'open';
  }

  send(msg: InputMessage): boolean {
    if (!this.isOpen) return false;
    this.write(encodeClientMessage(msg));
    return true;
  }

  private write(bytes: Uint8Array): void {
    // The codec returns freshly allocated arrays, never views of a SharedArrayBuffer,
    // which is all RTCDataChannel.send's typing guards against.
    this.channel.send(bytes as Uint8Array<ArrayBuffer>);
  }

  /** Stops listening; the channel itself closes with its peer connection. */
  detach(): void {
    this.channel.onopen = null;
    this.channel.onclose = null;
    this.channel.onmessage = null;
    this.closed();
  }

  private opened(): void {
    window.clearInterval(this.pingTimer);
    this.ping();
    this.pingTimer = window.setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.events.open(true);
  }

  private closed(): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.events.open(false);
  }

  private ping(): void {
    if (!this.isOpen) return;
    const [clientTs1, clientTs2] = splitTimestamp(Date.now());
    this.write(encodeClientMessage({ type: 'ping', clientTs1, clientTs2 }));
  }

  private receive(bytes: Uint8Array): void {
    const msg = decodeServerMessage(bytes);
    switch (msg.type) {
      case 'cursorPosition':
        this.events.cursorPosition({ x: msg.x, y: msg.y });
        break;
      case 'cursorImage':
        this.events.cursorImage({
          width: msg.width,
          height: msg.height,
          xhot: msg.xhot,
          yhot: msg.yhot,
          url: `data:image/png;base64,${base64(msg.png)}`,
        });
        break;
      case 'pong':
        this.events.rtt(Date.now() - joinTimestamp(msg.clientTs1, msg.clientTs2));
        break;
      case 'error':
        console.warn('undecodable data channel message:', msg.reason);
        break;
    }
  }
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  const CHUNK = 0x8000; // keeps String.fromCharCode's argument list well under engine limits
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}
