import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { IntervalHistogram, PerformanceObserver as Observer } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Histogram } from 'prom-client';
import { Metrics } from '../../server/src/metrics.js';

/** The module object prom-client's `require('perf_hooks')` sees. */
const perfHooks = createRequire(import.meta.url)('node:perf_hooks') as typeof import('node:perf_hooks');

/** A Metrics, with the event-loop delay monitors and performance observers made while it was built. */
function metricsWatched(): { metrics: Metrics; histograms: IntervalHistogram[]; resolutions: number[]; observers: Observer[] } {
  const histograms: IntervalHistogram[] = [];
  const resolutions: number[] = [];
  const observers: Observer[] = [];
  const { monitorEventLoopDelay, PerformanceObserver } = perfHooks;
  perfHooks.monitorEventLoopDelay = (options) => {
    const histogram = monitorEventLoopDelay(options);
    histograms.push(histogram);
    // Node's default when none is given.
    resolutions.push(options?.resolution ?? 10);
    return histogram;
  };
  perfHooks.PerformanceObserver = class extends PerformanceObserver {
    constructor(callback: ConstructorParameters<typeof PerformanceObserver>[0]) {
      super(callback);
      observers.push(this);
    }
  };
  try {
    const metrics = new Metrics({ sessions: () => ({ connected: 0, total: 0 }), rtp: () => [] });
    return { metrics, histograms, resolutions, observers };
  } finally {
    perfHooks.monitorEventLoopDelay = monitorEventLoopDelay;
    perfHooks.PerformanceObserver = PerformanceObserver;
  }
}

async function gcCount(metric: Histogram): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => v.metricName?.endsWith('_count')).reduce((sum, v) => sum + v.value, 0);
}

/** Runs a full GC and resolves once its performance entry has been delivered to observers. */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const delivered = new Promise<void>((resolve, reject) => {
    // Also keeps the event loop alive until the entry comes.
    const timer = setTimeout(() => reject(new Error('no GC performance entry within 10 s')), 10_000);
    const observer = new perfHooks.PerformanceObserver(() => {
      clearTimeout(timer);
      observer.disconnect();
      resolve();
    });
    observer.observe({ entryTypes: ['gc'] });
  });
  gc();
  await delivered;
}

describe('Metrics', () => {
  test('serves the default metrics, with the event-loop lag', async () => {
    const { metrics } = metricsWatched();
    try {
      const { text } = await metrics.render();
      assert.match(text, /^neko_nodejs_eventloop_lag_p99_seconds /m);
      assert.match(text, /^neko_process_cpu_seconds_total /m);
    } finally {
      metrics.close();
    }
  });

  test('the event-loop monitor samples every 100 ms, so an idle server is not woken 100 times a second', () => {
    const { metrics, resolutions } = metricsWatched();
    try {
      assert.deepEqual(resolutions, [100]);
    } finally {
      metrics.close();
    }
  });

  test('close() stops the event-loop monitor and the GC observer the default metrics start', async () => {
    const { metrics, histograms, observers } = metricsWatched();
    assert.equal(histograms.length, 1, 'prom-client starts one event-loop delay monitor');
    assert.ok(observers.length >= 1, 'prom-client starts a GC observer');
    const gcMetric = metrics.registry.getSingleMetric('neko_nodejs_gc_duration_seconds') as Histogram;
    await collectGarbage();
    const before = await gcCount(gcMetric);
    assert.ok(before > 0, 'the GC observer counts collections while open');

    metrics.close();
    metrics.close();

    // enable() starts a monitor only if it was stopped, and says so.
    const [histogram] = histograms;
    assert.equal(histogram!.enable(), true, 'the event-loop delay monitor is stopped');
    histogram!.disable();
    await collectGarbage();
    assert.equal(await gcCount(gcMetric), before, 'the GC observer no longer counts');
  });
});
