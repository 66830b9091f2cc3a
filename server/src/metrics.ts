import { createRequire } from 'node:module';
import type { IntervalHistogram, PerformanceObserver as Observer } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The module object prom-client's own `require('perf_hooks')` returns. */
const perfHooks = createRequire(import.meta.url)('node:perf_hooks') as typeof import('node:perf_hooks');

/**
 * How often the event-loop lag is sampled. prom-client's default, 10 ms, is a timer that wakes
 * the process 100 times a second for as long as it runs: 0.65–0.8 % of a core on an idle
 * server on a 2-core machine, against 0.0 % without it. Every stall of 100 ms or more is
 * still seen.
 */
const EVENT_LOOP_RESOLUTION_MS = 100;

/** What collectDefaultMetrics leaves running and gives no handle to. */
interface DefaultMetricMonitors {
  histograms: IntervalHistogram[];
  observers: Observer[];
}

/**
 * Runs prom-client's collectDefaultMetrics and returns the event-loop delay monitor and the
 * GC observer it starts: prom-client keeps them for the life of the process, and every App
 * made in a process (tests make many) would add another pair.
 */
function collectDefaultMetricsOwned(registry: Registry, prefix: string): DefaultMetricMonitors {
  const owned: DefaultMetricMonitors = { histograms: [], observers: [] };
  const { monitorEventLoopDelay, PerformanceObserver } = perfHooks;
  perfHooks.monitorEventLoopDelay = (options) => {
    const histogram = monitorEventLoopDelay(options);
    owned.histograms.push(histogram);
    return histogram;
  };
  perfHooks.PerformanceObserver = class extends PerformanceObserver {
    constructor(callback: ConstructorParameters<typeof PerformanceObserver>[0]) {
      super(callback);
      owned.observers.push(this);
    }
  };
  try {
    collectDefaultMetrics({ register: registry, prefix, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  } finally {
    perfHooks.monitorEventLoopDelay = monitorEventLoopDelay;
    perfHooks.PerformanceObserver = PerformanceObserver;
  }
  return owned;
}

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
  private readonly monitors: DefaultMetricMonitors;
  private closed = false;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.monitors = collectDefaultMetricsOwned(this.registry, 'neko_');
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

  /** Stops the default metrics' event-loop monitor and GC observer; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const histogram of this.monitors.histograms) histogram.disable();
    for (const observer of this.monitors.observers) observer.disconnect();
    this.registry.clear();
  }
}
