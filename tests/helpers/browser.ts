import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, as root, with loopback WebRTC allowed and every background
 * service that would try the network turned off (platform notes). Playwright gives each
 * launch a fresh temporary profile and removes it on close.
 */
export function launchChromium(opts: { autoplay?: boolean; args?: string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      // Without it, the browser's own rule applies: no sound before the user interacts.
      `--autoplay-policy=${opts.autoplay === false ? 'document-user-activation-required' : 'no-user-gesture-required'}`,
      ...(opts.args ?? []),
    ],
  });
}
