/**
 * Multipart uploads written by hand and sent in two stages, so a test can look at the server
 * while a file is half received (a partial file on disk) before sending the rest.
 */
import { request } from 'node:http';

export interface Part {
  name: string;
  /** Absent: a plain field. */
  filename?: string;
  data: Buffer | string;
}

const BOUNDARY = 'staged-upload-boundary-7f3a';

/** A multipart/form-data body; client libraries would clean up the hostile names tests need. */
export function multipartBody(parts: Part[]): { type: string; body: Buffer } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n`, 'latin1'));
    if (p.filename !== undefined) chunks.push(Buffer.from('Content-Type: application/octet-stream\r\n', 'latin1'));
    chunks.push(Buffer.from('\r\n', 'latin1'), Buffer.from(p.data), Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`, 'latin1'));
  return { type: `multipart/form-data; boundary=${BOUNDARY}`, body: Buffer.concat(chunks) };
}

export interface StagedAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Whether the second stage was sent (false: the server answered first). */
  sentAll: boolean;
}

/**
 * POSTs `body` (its full length announced): the first `splitAt` bytes, then the rest once
 * `barrier` resolves. A server that answers before the barrier is met gets nothing more.
 */
export function stagedPost(
  url: string,
  token: string,
  type: string,
  body: Buffer,
  splitAt: number,
  barrier: () => Promise<unknown>,
): Promise<StagedAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let sentAll = false;
    const req = request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': type, 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, sentAll }));
      res.on('error', reject);
    });
    // A server that refuses a body may close the connection while it is still being sent.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.write(body.subarray(0, splitAt));
    barrier().then(
      () => {
        if (answered) return;
        sentAll = true;
        req.end(body.subarray(splitAt));
      },
      (err: unknown) => {
        req.destroy();
        reject(err);
      },
    );
  });
}
