import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../server/src/main.js';
import { openapi } from './helpers/api.js';
import { startApp } from './helpers/app.js';

const METHODS = ['get', 'post', 'delete', 'put', 'patch'] as const;

interface Op {
  security?: unknown[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, { $ref?: string }>;
}

/** `/api/members/:memberId` → `/api/members/{memberId}`. */
const toTemplate = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function documented(): Set<string> {
  const ops = new Set<string>();
  for (const [path, item] of Object.entries(openapi.paths)) {
    for (const method of METHODS) if (item[method]) ops.add(`${method.toUpperCase()} ${path}`);
  }
  return ops;
}

function operations(): Array<[string, Op]> {
  return Object.entries(openapi.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m): [string, Op] => [`${m.toUpperCase()} ${path}`, item[m] as Op]),
  );
}

describe('openapi.yaml and the router agree', () => {
  let app: App;
  before(async () => {
    // Every optional feature on, so every module mounts everything it can.
    app = await startApp([
      '--capture.video.ids', 'main',
      '--server.metrics',
      '--filetransfer.enabled',
      '--openinapp.enabled',
      '--capture.screencast.enabled',
    ]);
  });
  after(async () => {
    await app?.close();
  });

  function served(): Set<string> {
    const ops = new Set<string>();
    for (const layer of app.router.stack) {
      for (const method of layer.methods) {
        // HEAD is implied by GET; OPTIONS is the router default or the CORS preflight.
        if (method === 'HEAD' || method === 'OPTIONS') continue;
        ops.add(`${method} ${toTemplate(String(layer.path))}`);
      }
    }
    return ops;
  }

  test('every served route is documented', () => {
    const docs = documented();
    const missing = [...served()].filter((op) => !docs.has(op)).sort();
    assert.deepEqual(missing, [], `routes served but missing from openapi.yaml:\n  ${missing.join('\n  ')}`);
  });

  test('every documented route is served', () => {
    const routes = served();
    const unserved = [...documented()].filter((op) => !routes.has(op)).sort();
    assert.deepEqual(unserved, [], `documented in openapi.yaml but served by no module:\n  ${unserved.join('\n  ')}`);
  });
});

describe('openapi.yaml is complete for what it documents', () => {
  const responses = (openapi.components.responses ?? {}) as Record<string, unknown>;

  test('every response reference resolves', () => {
    const broken = operations().flatMap(([key, op]) =>
      Object.entries(op.responses ?? {})
        .filter(([, r]) => r.$ref && !responses[r.$ref.split('/').pop()!])
        .map(([status]) => `${key} ${status}`),
    );
    assert.deepEqual(broken, [], `dangling $ref: ${broken.join(', ')}`);
  });

  test('guarded routes document 401 and 403, JSON-body routes 400 and 413', () => {
    const gaps: string[] = [];
    for (const [key, op] of operations()) {
      const statuses = Object.keys(op.responses ?? {});
      // The WebSocket authenticates after the upgrade (system/disconnect), never with 401/403.
      const upgrade = statuses.includes('101');
      const guarded = !upgrade && (op.security === undefined || op.security.length > 0);
      if (guarded) for (const s of ['401', '403']) if (!statuses.includes(s)) gaps.push(`${key} lacks ${s}`);
      const json = op.requestBody?.content?.['application/json'] !== undefined;
      const bodyErrors = key === 'POST /api/batch' ? ['413', '500'] : ['400', '413'];
      if (json) for (const s of bodyErrors) if (!statuses.includes(s)) gaps.push(`${key} lacks ${s}`);
      if (op.requestBody?.content?.['multipart/form-data'] && !statuses.includes('413')) gaps.push(`${key} lacks 413`);
      if (!statuses.some((s) => s.startsWith('2') || s === '101')) gaps.push(`${key} has no success status`);
    }
    assert.deepEqual(gaps, [], gaps.join('\n'));
  });
});
