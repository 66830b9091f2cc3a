// HEALTHCHECK of the neko-ts images: GET /health where the server listens, as the NEKO_*
// variables say (bind address, path prefix, TLS). Exit 0 only on 200; the report of a 503
// (which part is down) goes to `docker inspect`'s health log.
'use strict';

const bind = process.env.NEKO_SERVER_BIND || '127.0.0.1:8080';
const colon = bind.lastIndexOf(':');
let host = bind.slice(0, Math.max(colon, 0)).replace(/^\[|\]$/g, '');
if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
if (host === '::') host = '::1';
const port = Number(bind.slice(colon + 1));
const prefix = (process.env.NEKO_SERVER_PATH_PREFIX || '/').replace(/\/+$/, '');
const tls = Boolean(process.env.NEKO_SERVER_CERT && process.env.NEKO_SERVER_KEY);

// The certificate is for the public name, not for this loopback request.
const req = require(tls ? 'node:https' : 'node:http').get(
  { host, port, path: `${prefix}/health`, timeout: 4000, rejectUnauthorized: false },
  (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (body = (body + chunk).slice(0, 4000)));
    res.on('end', () => {
      if (res.statusCode !== 200) console.error(`health: HTTP ${res.statusCode} ${body}`);
      process.exit(res.statusCode === 200 ? 0 : 1);
    });
  },
);
req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
req.on('error', (err) => {
  console.error(`health: ${err.message}`);
  process.exit(1);
});
