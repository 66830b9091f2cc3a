import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../server/src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The folder right under server/src a file belongs to; a file directly in it is its own unit. */
function unitOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

/** unit → units it imports from (type-only imports count: they tie the folders together as well). */
function unitGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const file of sourceFiles(SRC)) {
    const from = unitOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const match of readFileSync(file, 'utf8').matchAll(specifier)) {
      const to = unitOf(path.resolve(path.dirname(file), match[1]!));
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

function cycles(graph: Map<string, Set<string>>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[] = [];
  const visit = (unit: string) => {
    if (state.get(unit) === 'done') return;
    if (state.get(unit) === 'open') {
      found.push([...stack.slice(stack.indexOf(unit)), unit].join(' → '));
      return;
    }
    state.set(unit, 'open');
    stack.push(unit);
    for (const next of graph.get(unit) ?? []) visit(next);
    stack.pop();
    state.set(unit, 'done');
  };
  for (const unit of graph.keys()) visit(unit);
  return found;
}

test('the folders of server/src import each other without a cycle', () => {
  const graph = unitGraph();
  assert.ok((graph.get('api')?.size ?? 0) > 0, 'the scan found the imports of api/');
  assert.deepEqual(cycles(graph), []);
});
