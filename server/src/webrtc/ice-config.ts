import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { IceServer, PeerNetwork } from './peer.js';

export interface IceSettings extends Omit<PeerNetwork, 'mux'> {
  frontendIceServers: IceServer[];
  backendIceServers: IceServer[];
  /** Single UDP port for every peer (0: off). */
  udpMux: number;
  /** Single TCP port for every peer (0: off). */
  tcpMux: number;
}

const DEFAULT_PORT_RANGE: [number, number] = [59000, 59100];
const DEFAULT_ICE_SERVERS: IceServer[] = [{ urls: ['stun:stun.l.google.com:19302'] }];
/** The public-IP lookup must not hold up startup for long. */
const IP_RETRIEVAL_TIMEOUT_MS = 5000;

/** Contract §9.3 network settings, resolved for the peer factory. */
export function iceSettings(config: Config): IceSettings {
  const { webrtc } = config;
  let { frontend, backend } = webrtc.iceservers;
  // Contract §9.3: with neither list configured, both sides get a public STUN server.
  if (frontend.length === 0 && backend.length === 0) frontend = backend = DEFAULT_ICE_SERVERS;
  let portRange: [number, number] | undefined;
  if (webrtc.udpmux) {
    // Every peer goes through the mux port; its own sockets are loopback-only.
    portRange = undefined;
  } else if (webrtc.epr) {
    const [min, max] = webrtc.epr.split('-').map(Number);
    portRange = [min!, max!];
  } else if (!webrtc.tcpmux) {
    portRange = DEFAULT_PORT_RANGE;
  }
  return {
    frontendIceServers: frontend,
    // ICE-lite agents gather no server-reflexive candidates, so backend servers are moot.
    backendIceServers: webrtc.icelite ? [] : backend,
    portRange,
    // werift never gathers loopback; viewers on the same machine (and tests) need it.
    additionalHostAddresses: ['127.0.0.1'],
    nat1to1: webrtc.nat1to1,
    trickle: webrtc.icetrickle,
    iceLite: webrtc.icelite,
    udpMux: webrtc.udpmux,
    tcpMux: webrtc.tcpmux,
  };
}

/**
 * Contract §9.3 NAT 1:1: the configured IPs, else (with `webrtc.ip_retrieval_url` set) the
 * public IP that URL reports, fetched once; an unreachable URL leaves host candidates as they are.
 * A server that listens on loopback only serves this machine, so it asks no one: no request
 * leaves the host unless the operator exposed the server.
 */
export async function resolveNat1to1(config: Config, logger: Logger): Promise<string[]> {
  const { nat1to1, ip_retrieval_url: url } = config.webrtc;
  if (nat1to1.length > 0 || !url) return nat1to1;
  if (await bindsLoopbackOnly(config.server.bind)) {
    logger.debug({ bind: config.server.bind }, 'public IP not retrieved: the server listens on loopback only');
    return [];
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(IP_RETRIEVAL_TIMEOUT_MS) });
    const ip = (await res.text()).trim();
    if (!res.ok || !/^[0-9a-fA-F.:]{2,45}$/.test(ip)) throw new Error(`unexpected answer (HTTP ${res.status})`);
    logger.info({ ip, url }, 'public IP retrieved for NAT 1:1');
    return [ip];
  } catch (err) {
    // One line an operator can act on; the stack of a failed fetch says nothing more.
    logger.warn({ url, reason: failureReason(err) }, 'public IP retrieval failed; advertising host addresses');
    return [];
  }
}

/** Whether `server.bind` listens on loopback only; an empty host means every interface, as for the HTTP server. */
export async function bindsLoopbackOnly(bind: string): Promise<boolean> {
  const idx = bind.lastIndexOf(':');
  const host = (idx >= 0 ? bind.slice(0, idx) : '').replace(/^\[|\]$/g, '');
  if (host === '') return false;
  if (isIP(host)) return isLoopback(host);
  const addresses = await lookup(host, { all: true }).catch(() => []);
  return addresses.length > 0 && addresses.every((a) => isLoopback(a.address));
}

function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('127.') || ip === '::1';
}

function failureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch wraps the socket error ("fetch failed"); its cause names what went wrong.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** Addresses the ICE mux advertises: the NAT 1:1 IPs, else loopback and every IPv4 interface. */
export function muxAddresses(nat1to1: string[]): string[] {
  if (nat1to1.length > 0) return nat1to1;
  const out = ['127.0.0.1'];
  for (const list of Object.values(networkInterfaces())) {
    for (const addr of list ?? []) if (addr.family === 'IPv4' && !addr.internal) out.push(addr.address);
  }
  return out;
}
