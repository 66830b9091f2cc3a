import type { ApiError, SessionData, Settings } from './protocol.js';

// URLs are resolved against the page so the viewer keeps working under a path prefix.
const apiUrl = (path: string): string => new URL(`api/${path}`, document.baseURI).toString();

export class ApiRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(apiUrl(path), {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = data as Partial<ApiError> | undefined;
    throw new ApiRequestError(res.status, err?.message ?? (res.statusText || `HTTP ${res.status}`));
  }
  return data as T;
}

export interface LoginResult extends SessionData {
  /** Absent when the server keeps the session in a cookie instead. */
  token?: string;
}

export function login(username: string, password: string): Promise<LoginResult> {
  return post<LoginResult>('login', { username, password });
}

export async function logout(token: string | undefined): Promise<void> {
  await post<unknown>('logout', undefined, token);
}

/** Hands control to another session; the server requires us to be host or admin. */
export async function giveControl(token: string | undefined, sessionId: string): Promise<void> {
  await post<unknown>(`room/control/give/${encodeURIComponent(sessionId)}`, undefined, token);
}

/** Admin only; the server merges the change and broadcasts the result as `system/settings`. */
export async function updateSettings(token: string | undefined, change: Partial<Settings>): Promise<void> {
  await post<unknown>('room/settings', change, token);
}

/** `ws(s)://…/api/ws`, with the token as a query parameter unless a cookie carries it. */
export function socketUrl(token: string | undefined): string {
  const url = new URL(apiUrl('ws'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) url.searchParams.set('token', token);
  return url.toString();
}
