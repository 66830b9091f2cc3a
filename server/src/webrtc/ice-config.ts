import type { Config } from '../config/index.js';
import type { IceServer } from './peer.js';

export interface IceSettings {
  frontendIceServers: IceServer[];
  backendIceServers: IceServer[];
  portRange?: [number, number];
  additionalHostAddresses: string[];
  nat1to1: string[];
  trickle: boolean;
}

const DEFAULT_PORT_RANGE: [number, number] = [59000, 59100];
const DEFAULT_ICE_SERVERS: IceServer[] = [{ urls: ['stun:stun.l.google.com:19302'] }];

/** Contract §9.3 network settings, resolved for the peer factory. */
export function iceSettings(config: Config): IceSettings {
  const { webrtc } = config;
  let { frontend, backend } = webrtc.iceservers;
  // Contract §9.3: with neither list configured, both sides get a public STUN server.
  if (frontend.length === 0 && backend.length === 0) frontend = backend = DEFAULT_ICE_SERVERS;
  let portRange: [number, number] | undefined;
  if (webrtc.udpmux) {
    portRange = [webrtc.udpmux, webrtc.udpmux];
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
  };
}
