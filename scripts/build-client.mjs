// Bundles the browser viewer into client/dist/, which the server serves at `/`.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../client/', import.meta.url));
const dist = `${root}dist/`;

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await build({
  entryPoints: [`${root}src/main.tsx`],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: `${dist}main.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});

// embed.js: a classic script for the pages that embed the viewer; it defines `NekoEmbed`.
await build({
  entryPoints: [`${root}src/embed.ts`],
  outfile: `${dist}embed.js`,
  bundle: true,
  format: 'iife',
  globalName: 'NekoEmbed',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  logLevel: 'warning',
});

await Promise.all(['index.html', 'style.css', 'embed-example.html'].map((f) => copyFile(`${root}${f}`, `${dist}${f}`)));
console.log(`client built into ${dist}`);
