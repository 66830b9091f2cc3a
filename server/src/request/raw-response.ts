import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError } from '../errors.js';

/**
 * Answers on a bare socket that no HTTP response object owns (a refused upgrade, a request
 * Node could not parse) with the contract's JSON error body, then closes it. The socket is
 * destroyed once the answer is written, so a peer that never reads or closes holds nothing.
 */
export function endWithError(socket: Duplex, error: HttpError): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${JSON.stringify(error.body())}\n`;
  const head = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
