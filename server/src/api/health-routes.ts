import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { sendJson } from '../request/http-util.js';

export interface HealthSource {
  /** Component name → state, e.g. `{ 'desktop.xserver': 'running', 'capture.video.main': 'idle' }`. */
  health(): Record<string, string>;
}

/**
 * States in which a component does its job (idle encoders wait for their first viewer). The
 * desktop app is `waiting` until its window is mapped and painted, and `no_window` when that
 * takes too long: neither is ready, so nobody is sent to a desktop that still shows nothing.
 */
const HEALTHY = new Set(['running', 'external', 'idle', 'starting', 'disabled']);

/**
 * `GET /health`: beyond the contract's bare `true`, a JSON report of every supervised part;
 * 503 while any of them is down so an orchestrator can act on it.
 */
export function mountHealthRoutes(router: Router, sources: HealthSource[], version: string): void {
  const started = Date.now();
  router.get('/health', (ctx: Context) => {
    const components: Record<string, string> = {};
    for (const source of sources) Object.assign(components, source.health());
    const ok = Object.values(components).every((state) => HEALTHY.has(state));
    sendJson(ctx, ok ? 200 : 503, {
      status: ok ? 'ok' : 'degraded',
      version,
      uptime: Math.round((Date.now() - started) / 1000),
      components,
    });
  });
}
