import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './x11.js';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';


export interface RtmpServer {
  /** Holds the config, logs and `rec/` with one FLV recording per published stream. */
  dir: string;
  url(stream: string): string;
  /** The recordings so far, with their sizes. */
  recordings(): Promise<Array<{ name: string; size: number }>>;
  close(): Promise<void>;
}

/**
 * A real RTMP server on loopback: nginx with the rtmp module (scripts/setup.sh installs it),
 * recording every published stream. It owns its directory, port and process; close() ends
 * all three.
 */
export async function startRtmpServer(): Promise<RtmpServer> {
  assert.ok(existsSync(RTMP_MODULE), 'nginx rtmp module installed (scripts/setup.sh: nginx libnginx-mod-rtmp)');
  const dir = await mkdtemp(path.join(tmpdir(), 'neko-rtmp-'));
  const port = await freePort();
  await mkdir(path.join(dir, 'rec'));
  await writeFile(
    path.join(dir, 'nginx.conf'),
    [
      `load_module ${RTMP_MODULE};`,
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 64; }',
      'rtmp { server {',
      `  listen 127.0.0.1:${port};`,
      `  application live { live on; record all; record_path ${dir}/rec; record_unique on; }`,
      '} }',
      '',
    ].join('\n'),
  );
  const child = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { detached: true, stdio: 'ignore' });
  const close = async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('nginx listening', () => {
      return new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    dir,
    url: (stream) => `rtmp://127.0.0.1:${port}/live/${stream}`,
    async recordings() {
      const names = (await readdir(path.join(dir, 'rec'))).filter((n) => n.endsWith('.flv'));
      return Promise.all(names.map(async (name) => ({ name, size: (await stat(path.join(dir, 'rec', name))).size })));
    },
    close,
  };
}
