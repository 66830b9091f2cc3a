import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { OPTIONS, inertSettings, loadConfig } from '../../../server/src/config/index.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../server/src');

/** Options the loader itself consumes, so no module outside config/ needs to read them. */
const READ_BY_THE_LOADER = new Set(['config']);

/**
 * Objects handed over whole to one module, which reads the fields under its own names
 * (`opts.secure`): there the leaf alone counts.
 */
const WHOLE_OBJECTS: Record<string, string> = {
  'session.cookie': 'api/cookie.ts',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return full === path.join(SRC, 'config') ? [] : sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** `a.b.c` for a property access chain made of names only, else null. */
function chain(node: ts.Expression): string[] | null {
  if (ts.isIdentifier(node)) return [node.text];
  if (node.kind === ts.SyntaxKind.ThisKeyword) return ['this'];
  if (ts.isPropertyAccessExpression(node)) {
    const head = chain(node.expression);
    return head && [...head, node.name.text];
  }
  return null;
}

/**
 * Every property read in a file as a dotted chain: `config.server.bind`; for
 * `const { a, b: x } = config.member.multiuser` the chains `config.member.multiuser.a|b`;
 * after `const ft = config.filetransfer`, `ft.dir` reads `config.filetransfer.dir`.
 * Comments and strings do not count: only code reads an option.
 */
function reads(file: string): string[][] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[][] = [];
  const aliases = new Map<string, string[]>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      const c = chain(node);
      if (c) found.push(c);
    } else if (ts.isVariableDeclaration(node) && node.initializer) {
      const base = chain(node.initializer);
      if (base && ts.isIdentifier(node.name)) aliases.set(node.name.text, base);
      if (base && ts.isObjectBindingPattern(node.name)) {
        for (const el of node.name.elements) {
          const name = el.propertyName ?? el.name;
          if (ts.isIdentifier(name)) found.push([...base, name.text]);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.map((c) => [...(aliases.get(c[0]!) ?? [c[0]!]), ...c.slice(1)]);
}

const READS = new Map(sourceFiles(SRC).map((f) => [path.relative(SRC, f), reads(f)]));

function endsWith(c: string[], tail: string[]): boolean {
  return c.length >= tail.length && tail.every((part, i) => c[c.length - tail.length + i] === part);
}

/** Where the option is read: its last two key parts end a chain (`cookie.enabled`), or `config.<key>`. */
function readers(key: string): string[] {
  const parts = key.split('.');
  const tail = parts.length === 1 ? ['config', key] : parts.slice(-2);
  const found = [...READS].filter(([, chains]) => chains.some((c) => endsWith(c, tail))).map(([file]) => file);
  const consumer = WHOLE_OBJECTS[parts.slice(0, -1).join('.')];
  if (consumer && READS.get(consumer)?.some((c) => c.length > 1 && c.at(-1) === parts.at(-1))) found.push(consumer);
  return found;
}

describe('option table audit', () => {
  test('the audit sees reads through chains and destructuring', () => {
    assert.ok(readers('server.bind').includes('main.ts'));
    assert.ok(readers('member.multiuser.user_password').includes('main.ts'));
    assert.ok(readers('session.cookie.http_only').includes('api/cookie.ts'));
    assert.deepEqual(readers('no.such_option'), []);
  });

  test('every option --help lists is read outside config/, or --help says it has no effect', () => {
    const unread = OPTIONS.filter((o) => o.stored && !o.inert && !READ_BY_THE_LOADER.has(o.key) && readers(o.key).length === 0);
    assert.deepEqual(
      unread.map((o) => o.key),
      [],
      'these options are parsed but never read: implement them, or declare them with inert() in options.ts',
    );
  });

  test('an option marked as having no effect is not read (drop inert() once it is implemented)', () => {
    const read = OPTIONS.filter((o) => o.inert).map((o) => [o.key, readers(o.key)] as const).filter(([, files]) => files.length > 0);
    assert.deepEqual(read, []);
    for (const o of OPTIONS.filter((x) => x.inert)) assert.match(o.description, /no effect/, o.key);
  });

  test('setting an option that has no effect is reported; defaults are not', () => {
    assert.deepEqual(inertSettings(loadConfig(['--config', '/dev/null'], {})), []);
    const c = loadConfig(['--config', '/dev/null', '--server.pprof', '--capture.webcam.width', '640', '--legacy=false'], {});
    assert.deepEqual(inertSettings(c).sort(), ['capture.webcam.width', 'legacy', 'server.pprof']);
  });
});
