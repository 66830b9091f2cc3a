import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface RtpSample {
  /** Stream id (`main`, `hd`, …, or `audio`). */
  stream: string;
  packets: number;
  bytes: number;
}

export interface MetricsSources {
  sessions(): { connected: number; total: number };
  /** Cumulative RTP counters of every capture stream. */
  rtp(): RtpSample[];
}

/**
 * The Prometheus registry and the server's own metrics. One registry per App (never the
 * global one) so several Apps in one process (tests) keep separate counts.
 */
export class Metrics {
  readonly registry = new Registry();
  /** `route` is the matched router template (or `unmatched`), never the raw path. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /**
   * WebSocket events by name (only names the server knows, others are `unknown`) and what
   * became of them, so dropped input is visible.
   */
  readonly wsEvents: Counter<'event' | 'result'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'neko_' });
    this.httpRequests = new Counter({
      name: 'neko_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.wsEvents = new Counter({
      name: 'neko_ws_events_total',
      help: 'WebSocket events received, by event and result (handled or dropped)',
      labelNames: ['event', 'result'],
      registers,
    });
    new Gauge({
      name: 'neko_sessions',
      help: 'Sessions, by state (connected or total)',
      labelNames: ['state'],
      registers,
      collect() {
        const { connected, total } = sources.sessions();
        this.set({ state: 'connected' }, connected);
        this.set({ state: 'total' }, total);
      },
    });
    // The capture streams keep cumulative counts; a scrape copies them rather than double counting.
    new Counter({
      name: 'neko_rtp_packets_total',
      help: 'RTP packets received from the encoders, by stream',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.rtp()) this.inc({ stream: s.stream }, s.packets);
      },
    });
    new Counter({
      name: 'neko_rtp_bytes_total',
      help: 'RTP bytes received from the encoders, by stream',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.rtp()) this.inc({ stream: s.stream }, s.bytes);
      },
    });
  }

  /** Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  close(): void {
    this.registry.clear();
  }
}
