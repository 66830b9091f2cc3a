import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import request, { type Response, type Test } from 'supertest';
import { parse } from 'yaml';

type Method = 'get' | 'post' | 'delete' | 'put' | 'patch' | 'options' | 'head';

interface Operation {
  responses?: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }>;
}

export const openapi = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components: Record<string, Record<string, unknown>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'openapi', components: openapi.components });

const templates = Object.keys(openapi.paths).map((template) => ({
  template,
  regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** The documented path template a concrete path belongs to. */
export function templateOf(path: string): string | undefined {
  const pathname = path.split('?')[0]!;
  return templates.find((t) => t.regex.test(pathname))?.template;
}

const compiled = new Map<string, ValidateFunction | null>();

function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
}

function resolveResponse(ref: { $ref?: string; content?: Record<string, { schema?: unknown }> }) {
  if (!ref.$ref) return ref;
  const name = ref.$ref.split('/').pop()!;
  return (openapi.components.responses as Record<string, typeof ref>)[name]!;
}

/**
 * Checks a response against openapi.yaml: the route, method and status must be documented,
 * and a JSON body must match the documented schema. Throws with the schema errors otherwise.
 */
export function checkAgainstOpenapi(method: string, path: string, res: Response): void {
  const template = templateOf(path);
  if (!template) throw new Error(`openapi.yaml documents no path for ${path}`);
  const op = openapi.paths[template]![method.toLowerCase() as Method];
  if (!op) throw new Error(`openapi.yaml documents no ${method} ${template}`);
  const documented = op.responses?.[String(res.status)] ?? op.responses?.default;
  if (!documented) throw new Error(`openapi.yaml documents no ${res.status} for ${method} ${template}`);
  const key = `${method} ${template} ${res.status}`;
  if (!compiled.has(key)) {
    const schema = resolveResponse(documented).content?.['application/json']?.schema;
    compiled.set(key, schema === undefined ? null : ajv.compile(rewriteRefs(schema) as object));
  }
  const validate = compiled.get(key);
  if (!validate) return;
  const contentType = String(res.headers['content-type'] ?? '');
  if (!contentType.includes('application/json')) return;
  const body: unknown = res.text ? JSON.parse(res.text) : undefined;
  if (!validate(body)) {
    throw new Error(`${key}: body does not match openapi.yaml: ${ajv.errorsText(validate.errors)}; body=${res.text.slice(0, 300)}`);
  }
}

export interface ApiClient {
  get(path: string): Test;
  post(path: string): Test;
  delete(path: string): Test;
}

/**
 * supertest against a running server, with every response checked against openapi.yaml.
 * `token` (optional) is sent as `Authorization: Bearer`.
 */
export function api(baseUrl: string, token?: string): ApiClient {
  const make = (method: 'get' | 'post' | 'delete') => (path: string) => {
    const req = request(baseUrl)[method](path);
    if (token) req.set('Authorization', `Bearer ${token}`);
    req.expect((res: Response) => checkAgainstOpenapi(method, path, res));
    return req;
  };
  return { get: make('get'), post: make('post'), delete: make('delete') };
}
