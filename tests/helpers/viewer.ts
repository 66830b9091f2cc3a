import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';

let exitWorkaroundInstalled = false;

/**
 * @roamhq/wrtc's native teardown segfaults at process exit once a video sink has run (a known
 * issue of the binding). Exiting without the environment cleanup keeps the exit code the test
 * runner needs and skips the crashing finalizers. Installed when the first peer is made, so
 * exit listeners registered earlier (the supervisor's orphan killer) still run first.
 */
function installExitWorkaround(): void {
  if (exitWorkaroundInstalled) return;
  exitWorkaroundInstalled = true;
  process.on('exit', (code) => (process as unknown as { reallyExit(code: number): never }).reallyExit(code));
}

export interface Envelope {
  event: string;
  payload?: any;
}

export interface Frame {
  width: number;
  height: number;
  /** I420 planes: Y (w*h), U (w/2*h/2), V (w/2*h/2). */
  data: Uint8Array;
  receivedAt: number;
}

/** Logs in over REST and returns the login response (token in the body: cookies are off). */
export async function login(baseUrl: string, username: string, password: string): Promise<{ id: string; token: string }> {
  const res = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; token: string };
}

/** A WebSocket client of the contract: records every event and can wait for one. */
export class SocketClient {
  readonly events: Envelope[] = [];
  private waiters: Array<{ match: (e: Envelope) => boolean; resolve: (e: Envelope) => void }> = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Envelope;
      this.events.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static async open(baseUrl: string, token: string | null): Promise<SocketClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/ws${token ? `?token=${token}` : ''}`;
    const ws = new WebSocket(url);
    const client = new SocketClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(event: string, payload?: unknown): void {
    this.ws.send(JSON.stringify(payload === undefined ? { event } : { event, payload }));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Resolves with the first event (already received or future) that matches. */
  waitFor(event: string, match: (payload: any) => boolean = () => true, timeoutMs = 10_000): Promise<Envelope> {
    const pred = (e: Envelope) => e.event === event && match(e.payload);
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
      this.waiters.push({
        match: pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  close(): void {
    this.ws.close(1000);
  }
}

/**
 * A headless viewer: logs in, opens the WebSocket, negotiates WebRTC with @roamhq/wrtc and
 * keeps every decoded video frame's latest copy so tests can read pixels.
 */
export class Viewer {
  readonly pc: wrtc.RTCPeerConnection;
  channel: wrtc.RTCDataChannel | null = null;
  readonly channelMessages: Uint8Array[] = [];
  frames = 0;
  lastFrame: Frame | null = null;
  private sink: { stop(): void; onframe: unknown } | null = null;
  private frameWaiters: Array<() => void> = [];
  private channelOpen!: Promise<void>;

  private constructor(
    readonly socket: SocketClient,
    readonly sessionId: string,
  ) {
    installExitWorkaround();
    this.pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.channelOpen = new Promise((resolve) => {
      this.pc.ondatachannel = (ev) => {
        const channel = ev.channel;
        channel.binaryType = 'arraybuffer';
        channel.onmessage = (m) => this.channelMessages.push(new Uint8Array(m.data as ArrayBuffer));
        this.channel = channel;
        if (channel.readyState === 'open') resolve();
        else channel.onopen = () => resolve();
      };
    });
    this.pc.ontrack = (ev) => {
      if (ev.track.kind !== 'video') return;
      const sink = new wrtc.nonstandard.RTCVideoSink(ev.track);
      sink.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8Array } }) => {
        this.frames++;
        this.lastFrame = { width: frame.width, height: frame.height, data: new Uint8Array(frame.data), receivedAt: performance.now() };
        const waiters = this.frameWaiters;
        this.frameWaiters = [];
        waiters.forEach((w) => w());
      };
      this.sink = sink;
    };
    this.pc.onicecandidate = (ev) => {
      if (ev.candidate) socket.send('signal/candidate', ev.candidate.toJSON());
    };
    socket.ws.on('message', (data) => {
      this.onSignal(JSON.parse(data.toString()) as Envelope).catch((err: unknown) => this.signalErrors.push(err));
    });
  }

  /** Timestamp of the `signal/answer` this viewer sent (for first-frame measurements). */
  answeredAt = 0;

  /** Signaling steps that failed on this side (e.g. an answer to a broken offer). */
  readonly signalErrors: unknown[] = [];

  /** Server candidates this returns false for are not used (e.g. to force one transport). */
  candidateFilter: (candidate: string) => boolean = () => true;

  private async onSignal(msg: Envelope): Promise<void> {
    if (msg.event === 'signal/provide' || msg.event === 'signal/offer' || msg.event === 'signal/restart') {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: this.filterSdp(msg.payload.sdp) });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.answeredAt = performance.now();
      this.socket.send('signal/answer', { sdp: answer.sdp });
    } else if (msg.event === 'signal/answer') {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.payload.sdp });
    } else if (msg.event === 'signal/candidate') {
      if (!this.candidateFilter(msg.payload.candidate)) return;
      await this.pc.addIceCandidate(msg.payload).catch(() => {});
    }
  }

  private filterSdp(sdp: string): string {
    return sdp
      .split('\r\n')
      .filter((line) => !line.startsWith('a=candidate:') || this.candidateFilter(line.slice(2)))
      .join('\r\n');
  }

  /**
   * Sends a microphone: a sine tone from a nonstandard RTCAudioSource on a track added to the
   * connection, negotiated by a client offer (`signal/offer` → `signal/answer`).
   */
  async addMicrophone(frequency = 440): Promise<{ stop(): void }> {
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    this.pc.addTrack(track, new wrtc.MediaStream());
    const samples = new Int16Array(480);
    let t = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * frequency * t++) / 48000) * 12000);
      source.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: samples.length });
    }, 10);
    const stop = () => {
      clearInterval(timer);
      track.stop();
    };
    this.cleanups.push(stop);
    const earlier = new Set(this.socket.events.filter((e) => e.event === 'signal/answer').map((e) => e.payload));
    const answered = this.socket.waitFor('signal/answer', (p) => !earlier.has(p), 10_000);
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.socket.send('signal/offer', { sdp: offer.sdp });
    await answered;
    return { stop };
  }

  /** Run by close(): e.g. microphone tone generators, which would keep the process alive. */
  private readonly cleanups: Array<() => void> = [];

  static async connect(baseUrl: string, username: string, password: string, request: unknown = { video: {}, audio: {} }): Promise<Viewer> {
    const { token } = await login(baseUrl, username, password);
    const socket = await SocketClient.open(baseUrl, token);
    const init = await socket.waitFor('system/init');
    const viewer = new Viewer(socket, init.payload.session_id as string);
    socket.send('signal/request', request);
    return viewer;
  }

  waitForDataChannel(): Promise<void> {
    return this.channelOpen;
  }

  /** Waits for a frame for which `match` holds (default: any new frame). */
  async waitForFrame(match: (f: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching frame within ${timeoutMs} ms (frames so far: ${this.frames})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.frameWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (this.lastFrame && match(this.lastFrame)) return this.lastFrame;
    }
  }

  send(bytes: Uint8Array): void {
    this.channel?.send(new Uint8Array(bytes));
  }

  close(): void {
    this.cleanups.forEach((cleanup) => cleanup());
    this.sink?.stop();
    this.pc.close();
    this.socket.close();
  }
}

/** RGB of one pixel of an I420 frame (BT.601 limited range, as libvpx decodes). */
export function pixel(frame: Frame, x: number, y: number): { r: number; g: number; b: number } {
  const { width: w, height: h, data } = frame;
  const Y = data[y * w + x]!;
  const cw = w >> 1;
  const U = data[w * h + (y >> 1) * cw + (x >> 1)]!;
  const V = data[w * h + cw * (h >> 1) + (y >> 1) * cw + (x >> 1)]!;
  const c = 1.164 * (Y - 16);
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  return {
    r: clamp(c + 1.596 * (V - 128)),
    g: clamp(c - 0.813 * (V - 128) - 0.391 * (U - 128)),
    b: clamp(c + 2.018 * (U - 128)),
  };
}

/** True when two colours are within `tolerance` on every channel. */
export function near(a: { r: number; g: number; b: number }, b: { r: number; g: number; b: number }, tolerance = 40): boolean {
  return Math.abs(a.r - b.r) <= tolerance && Math.abs(a.g - b.g) <= tolerance && Math.abs(a.b - b.b) <= tolerance;
}
