import { STATUS_CODES } from 'node:http';

/**
 * An error that maps onto an HTTP response with the contract's `{"code","message"}` body.
 * Modules throw these; the HTTP layer is the one place that turns them into responses.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message?: string,
  ) {
    super(message ?? STATUS_CODES[status] ?? 'Error');
    this.name = 'HttpError';
  }

  body(): { code: number; message: string } {
    return { code: this.status, message: this.message };
  }
}

export const badRequest = (message?: string) => new HttpError(400, message);
export const unauthorized = (message?: string) => new HttpError(401, message);
export const forbidden = (message?: string) => new HttpError(403, message);
export const notFound = (message?: string) => new HttpError(404, message);
export const unprocessable = (message?: string) => new HttpError(422, message);
export const tooManyRequests = (message?: string) => new HttpError(429, message);
export const internal = (message?: string) => new HttpError(500, message);
