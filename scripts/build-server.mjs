// Compiles the server to JavaScript and lays out a tree that runs with plain `node`
// (no tsx): <out>/server/src/**/*.js beside the files the server reads at run time
// (package.json, openapi.yaml, xorg/xorg.conf, server/assets/, client/dist/), at the same
// relative places as in the repository. Usage: node scripts/build-server.mjs [out=build/app]
//
// Each file is transpiled on its own, as tsx does when the server runs from source, so the
// output behaves like `npm start`; type checking is `npm run typecheck`'s job.
import { build } from 'esbuild';
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = resolve(process.argv[2] ?? join(root, 'build', 'app'));
const sourceDir = join(root, 'server', 'src');

const sources = (await readdir(sourceDir, { recursive: true }))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => join(sourceDir, f));

const clientDist = join(root, 'client', 'dist');
if (!(await stat(join(clientDist, 'index.html')).catch(() => null))) {
  throw new Error(`${relative(root, clientDist)} is missing: run node scripts/build-client.mjs first`);
}

await rm(out, { recursive: true, force: true });
await build({
  entryPoints: sources,
  outdir: join(out, 'server', 'src'),
  outbase: sourceDir,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
for (const file of ['package.json', 'openapi.yaml', 'xorg/xorg.conf', 'server/assets', 'client/dist']) {
  await mkdir(join(out, file, '..'), { recursive: true });
  await cp(join(root, file), join(out, file), { recursive: true });
}
console.log(`server built into ${out} (${sources.length} modules): node ${relative(process.cwd(), join(out, 'server', 'src', 'main.js'))}`);
