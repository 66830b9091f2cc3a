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
 */
export async function resolveNat1to1(config: Config, logger: Logger): Promise<string[]> {
  const { nat1to1, ip_retrieval_url: url } = config.webrtc;
  if (nat1to1.length > 0 || !url) return nat1to1;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(IP_RETRIEVAL_TIMEOUT_MS) });
    const ip = (await res.text()).trim();
    if (!res.ok || !/^[0-9a-fA-F.:]{2,45}$/.test(ip)) throw new Error(`unexpected answer ${res.status}`);
    logger.info({ ip, url }, 'public IP retrieved for NAT 1:1');
    return [ip];
  } catch (err) {
    logger.warn({ err, url }, 'public IP retrieval failed; advertising host addresses');
    return [];
  }
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
