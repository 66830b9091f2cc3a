import type { ApiError, BroadcastStatus, KeyboardMap, MemberData, MemberProfile, ScreenSize, SessionData, Settings } from './protocol.js';

// URLs are resolved against the page so the viewer keeps working under a path prefix.
const apiUrl = (path: string): string => new URL(`api/${path}`, document.baseURI).toString();

export class ApiRequestError extends Error {
  /** `status` 0: the request never got an answer (`message` says why: unreachable or cancelled). */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const UNREACHABLE = 'unreachable';
export const CANCELLED = 'cancelled';

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function failure(status: number, statusText: string, body: unknown): ApiRequestError {
  const err = body as Partial<ApiError> | undefined;
  return new ApiRequestError(status, err?.message ?? (statusText || `HTTP ${status}`));
}

async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, token?: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(apiUrl(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = parse(await res.text());
  if (!res.ok) throw failure(res.status, res.statusText, data);
  return data as T;
}

export interface LoginResult extends SessionData {
  /** Absent when the server keeps the session in a cookie instead. */
  token?: string;
}

export function login(username: string, password: string): Promise<LoginResult> {
  return call<LoginResult>('POST', 'login', undefined, { username, password });
}

/** A signed share link's token in place of a name and password (our extension). */
export function loginShare(token: string): Promise<LoginResult> {
  return call<LoginResult>('POST', 'login/share', undefined, { token });
}

/** Origins allowed to embed the viewer and drive it over postMessage (our extension). */
export function embedPolicy(): Promise<{ origins: string[] }> {
  return call<{ origins: string[] }>('GET', 'embed');
}

export async function logout(token: string | undefined): Promise<void> {
  await call<unknown>('POST', 'logout', token);
}

/** Hands control to another session; the server requires us to be host or admin. */
export async function giveControl(token: string | undefined, sessionId: string): Promise<void> {
  await call<unknown>('POST', `room/control/give/${encodeURIComponent(sessionId)}`, token);
}

/** Admin only: become host whoever holds control now. */
export async function takeControl(token: string | undefined): Promise<void> {
  await call<unknown>('POST', 'room/control/take', token);
}

/** Admin only: nobody hosts any more. */
export async function resetControl(token: string | undefined): Promise<void> {
  await call<unknown>('POST', 'room/control/reset', token);
}

/** Admin only: closes the session's connection; the session and its token stay valid. */
export async function disconnectSession(token: string | undefined, sessionId: string): Promise<void> {
  await call<unknown>('POST', `sessions/${encodeURIComponent(sessionId)}/disconnect`, token);
}

/** Admin only: ends the session for good (its token stops working). */
export async function deleteSession(token: string | undefined, sessionId: string): Promise<void> {
  await call<unknown>('DELETE', `sessions/${encodeURIComponent(sessionId)}`, token);
}

/** Stored members; providers that keep none (multiuser, noauth) answer with an empty list. */
export function listMembers(token: string | undefined): Promise<MemberData[]> {
  return call<MemberData[]>('GET', 'members', token);
}

export function createMember(token: string | undefined, username: string, password: string, profile: Partial<MemberProfile>): Promise<MemberData> {
  return call<MemberData>('POST', 'members', token, { username, password, profile });
}

/** Admin only; merged over the member's profile, and applied to its live session too. */
export async function updateMember(token: string | undefined, id: string, profile: Partial<MemberProfile>): Promise<void> {
  await call<unknown>('POST', `members/${encodeURIComponent(id)}`, token, profile);
}

export async function deleteMember(token: string | undefined, id: string): Promise<void> {
  await call<unknown>('DELETE', `members/${encodeURIComponent(id)}`, token);
}

export async function setMemberPassword(token: string | undefined, id: string, password: string): Promise<void> {
  await call<unknown>('POST', `members/${encodeURIComponent(id)}/password`, token, { password });
}

export function broadcastStatus(token: string | undefined): Promise<BroadcastStatus> {
  return call<BroadcastStatus>('GET', 'room/broadcast', token);
}

export async function startBroadcast(token: string | undefined, url: string): Promise<void> {
  await call<unknown>('POST', 'room/broadcast/start', token, { url });
}

export async function stopBroadcast(token: string | undefined): Promise<void> {
  await call<unknown>('POST', 'room/broadcast/stop', token);
}

/** Admin only; the server merges the change and broadcasts the result as `system/settings`. */
export async function updateSettings(token: string | undefined, change: Partial<Settings>): Promise<void> {
  await call<unknown>('POST', 'room/settings', token, change);
}

export function keyboardMap(token: string | undefined): Promise<KeyboardMap> {
  return call<KeyboardMap>('GET', 'room/keyboard/map', token);
}

export function screenConfigurations(token: string | undefined): Promise<ScreenSize[]> {
  return call<ScreenSize[]>('GET', 'room/screen/configurations', token);
}

/** A file of the file-transfer folder, as a link the browser can download directly. */
export function fileUrl(token: string | undefined, name: string): string {
  const url = new URL(apiUrl('filetransfer'));
  url.searchParams.set('filename', name);
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

export async function deleteFile(token: string | undefined, name: string): Promise<void> {
  await call<unknown>('DELETE', `filetransfer?filename=${encodeURIComponent(name)}`, token);
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * A multipart POST through XMLHttpRequest, the one browser API that reports upload
 * progress. `fields` go before the files, which are sent as `files` parts.
 */
export function upload(
  token: string | undefined,
  path: string,
  files: readonly File[],
  fields: Record<string, string>,
  progress: (p: UploadProgress) => void,
): { done: Promise<void>; abort(): void } {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const file of files) form.append('files', file, file.name);
  const xhr = new XMLHttpRequest();
  const done = new Promise<void>((resolve, reject) => {
    xhr.upload.onprogress = (ev) => progress({ loaded: ev.loaded, total: ev.lengthComputable ? ev.total : 0 });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(failure(xhr.status, xhr.statusText, parse(xhr.responseText)));
    };
    xhr.onerror = () => reject(new ApiRequestError(0, UNREACHABLE));
    xhr.onabort = () => reject(new ApiRequestError(0, CANCELLED));
  });
  xhr.open('POST', apiUrl(path));
  if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
  xhr.withCredentials = true;
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
}

export async function closeFileDialog(token: string | undefined): Promise<void> {
  await call<unknown>('DELETE', 'room/upload/dialog', token);
}

/** `ws(s)://…/api/ws`, with the token as a query parameter unless a cookie carries it. */
export function socketUrl(token: string | undefined): string {
  const url = new URL(apiUrl('ws'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) url.searchParams.set('token', token);
  return url.toString();
}
