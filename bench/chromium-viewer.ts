/**
 * A viewer in real Chromium: logs in, negotiates WebRTC and plays the video in a <video>,
 * the way a browser client does, and times a flip of the screen by reading one pixel of each
 * presented frame in `requestVideoFrameCallback`. The page's script is plain JavaScript text
 * (a compiled function could carry transpiler helpers the page does not have).
 *
 * Times cross from the page to Node as wall-clock milliseconds (`timeOrigin + now`); both
 * clocks read the same system clock on this machine.
 */
import type { Browser, Page } from 'playwright-core';

export interface FlipSample {
  /** Key sent on the data channel (wall clock, ms). */
  sentAt: number;
  /** requestVideoFrameCallback ran for the first frame with the new colour. */
  shownAt: number;
  /** Last packet of that frame received (NaN when Chromium does not say). */
  receivedAt: number;
  /** Handed to the decoder → ready for presentation, ms (NaN when not given). */
  processing: number;
  /** Frame submitted for composition (wall clock, ms). */
  presentedAt: number;
}

export interface BrowserVideoStats {
  framesDecoded: number;
  framesReceived: number;
  framesDropped: number;
  packetsLost: number;
  packetsReceived: number;
  bytesReceived: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  totalDecodeTime: number;
  decoder: string;
}

const PAGE_SCRIPT = String.raw`async (cfg) => {
  const st = { frames: 0, probe: null, chan: null, sessionId: '', hostId: '', token: '' };
  window.__bench = st;
  const wall = (t) => performance.timeOrigin + t;
  const res = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: cfg.user, password: cfg.password }) });
  if (res.status !== 200) throw new Error('login ' + res.status);
  st.token = (await res.json()).token;
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  video.style.cssText = 'position:fixed;left:0;top:0;width:640px;height:360px';
  document.body.appendChild(video);
  const canvas = document.createElement('canvas');
  canvas.width = 1; canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const pc = new RTCPeerConnection({ iceServers: [] });
  st.pc = pc;
  const ws = new WebSocket('ws://' + location.host + '/api/ws?token=' + st.token);
  st.ws = ws;
  const send = (event, payload) => ws.send(JSON.stringify(payload === undefined ? { event } : { event, payload }));
  let inited;
  const init = new Promise((r) => (inited = r));
  let hosted;
  st.hosted = new Promise((r) => (hosted = r));
  pc.ontrack = (ev) => {
    if (ev.track.kind !== 'video') return;
    video.srcObject = new MediaStream([ev.track]);
    video.play().catch(() => {});
  };
  pc.ondatachannel = (ev) => { ev.channel.binaryType = 'arraybuffer'; st.chan = ev.channel; };
  pc.onicecandidate = (ev) => { if (ev.candidate) send('signal/candidate', ev.candidate.toJSON()); };
  ws.onmessage = async (m) => {
    const msg = JSON.parse(m.data);
    if (msg.event === 'system/init') { st.sessionId = msg.payload.session_id; inited(); }
    else if (msg.event === 'signal/provide' || msg.event === 'signal/offer' || msg.event === 'signal/restart') {
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.payload.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send('signal/answer', { sdp: answer.sdp });
    } else if (msg.event === 'signal/candidate') pc.addIceCandidate(msg.payload).catch(() => {});
    else if (msg.event === 'control/host' && msg.payload.host_id === st.sessionId) hosted();
  };
  const onFrame = (now, meta) => {
    st.frames++;
    const p = st.probe;
    if (p) {
      ctx.drawImage(video, p.x, p.y, 1, 1, 0, 0, 1, 1);
      const d = ctx.getImageData(0, 0, 1, 1).data;
      if (Math.abs(d[0] - p.r) <= 40 && Math.abs(d[1] - p.g) <= 40 && Math.abs(d[2] - p.b) <= 40) {
        st.probe = null;
        clearTimeout(p.timer);
        p.resolve({
          sentAt: p.sentAt,
          shownAt: wall(performance.now()),
          receivedAt: meta.receiveTime !== undefined ? wall(meta.receiveTime) : NaN,
          processing: meta.processingDuration !== undefined ? meta.processingDuration * 1000 : NaN,
          presentedAt: wall(meta.presentationTime),
        });
      }
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  st.flip = (x, y, colour, keyDown, keyUp, timeoutMs) => new Promise((resolve) => {
    const probe = { x, y, r: colour.r, g: colour.g, b: colour.b, resolve, sentAt: wall(performance.now()) };
    probe.timer = setTimeout(() => { if (st.probe === probe) st.probe = null; resolve(null); }, timeoutMs);
    st.probe = probe;
    st.chan.send(new Uint8Array(keyDown));
    st.chan.send(new Uint8Array(keyUp));
  });
  st.stats = async () => {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') return {
        framesDecoded: s.framesDecoded ?? NaN, framesReceived: s.framesReceived ?? NaN, framesDropped: s.framesDropped ?? NaN,
        packetsLost: s.packetsLost ?? NaN, packetsReceived: s.packetsReceived ?? NaN, bytesReceived: s.bytesReceived ?? NaN,
        jitterBufferDelay: s.jitterBufferDelay ?? NaN, jitterBufferEmittedCount: s.jitterBufferEmittedCount ?? NaN,
        totalDecodeTime: s.totalDecodeTime ?? NaN, decoder: String(s.decoderImplementation ?? ''),
      };
    }
    return null;
  };
  await init;
  send('signal/request', { video: {}, audio: {} });
}`;

export class ChromiumViewer {
  private constructor(private readonly page: Page) {}

  static async open(browser: Browser, baseUrl: string, user: string, password: string): Promise<ChromiumViewer> {
    const page = await browser.newPage();
    // Any page of the server's origin will do: the WebSocket's origin check wants it.
    await page.goto(`${baseUrl}/health`, { timeout: 10_000 }).catch(() => undefined);
    await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify({ user, password })})`);
    return new ChromiumViewer(page);
  }

  async waitForVideo(timeoutMs: number): Promise<void> {
    await this.page.waitForFunction('window.__bench.frames > 0 && window.__bench.chan && window.__bench.chan.readyState === "open"', undefined, { timeout: timeoutMs });
  }

  get frames(): Promise<number> {
    return this.page.evaluate('window.__bench.frames') as Promise<number>;
  }

  async becomeHost(timeoutMs = 5000): Promise<void> {
    await this.page.evaluate(`window.__bench.ws.send(JSON.stringify({ event: 'control/request' }))`);
    await this.page.evaluate(`Promise.race([window.__bench.hosted, new Promise((_, j) => setTimeout(() => j(new Error('no control/host')), ${timeoutMs}))])`);
  }

  /** Sends the flip key and waits for the pixel at (x, y) of the video to turn `colour`. */
  flip(x: number, y: number, colour: { r: number; g: number; b: number }, keyDown: Uint8Array, keyUp: Uint8Array, timeoutMs: number): Promise<FlipSample | null> {
    const args = [x, y, colour, [...keyDown], [...keyUp], timeoutMs].map((a) => JSON.stringify(a)).join(',');
    return this.page.evaluate(`window.__bench.flip(${args})`) as Promise<FlipSample | null>;
  }

  stats(): Promise<BrowserVideoStats | null> {
    return this.page.evaluate('window.__bench.stats()') as Promise<BrowserVideoStats | null>;
  }

  async close(): Promise<void> {
    await this.page
      .evaluate(`fetch('/api/logout', { method: 'POST', headers: { authorization: 'Bearer ' + window.__bench.token } }).then(() => undefined, () => undefined)`)
      .catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}
