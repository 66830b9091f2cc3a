import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Router } from '@koa/router';
import { mountHealthRoutes } from './api/health-routes.js';
import { mountAuthRoutes } from './api/auth-routes.js';
import { requireSession } from './api/auth.js';
import { mountBatchRoutes } from './api/batch.js';
import { mountGeneralRoutes } from './api/general-routes.js';
import { LoginLimiter } from './api/login-limit.js';
import { Metrics } from './metrics.js';
import { mountControlRoutes } from './api/control-routes.js';
import { mountRoomSettingsRoutes } from './api/room-settings-routes.js';
import { mountMembersRoutes } from './api/members-routes.js';
import { mountSessionsRoutes } from './api/sessions-routes.js';
import { mountSharesRoutes } from './api/shares-routes.js';
import { mountEmbedRoutes } from './api/embed-routes.js';
import { ShareService } from './shares/shares.js';
import { Capture } from './capture/capture.js';
import { Broadcast } from './capture/broadcast.js';
import { mountBroadcastRoutes } from './api/broadcast-routes.js';
import { startPlugins } from './plugins/index.js';
import { InactiveCursors } from './sessions/cursors.js';
import { messagingHandlers } from './websocket/handlers/messaging.js';
import { ConfigError, helpText, inertSettings, loadConfig, wantsHelp, type Config } from './config/index.js';
import { Desktop } from './desktop/desktop.js';
import { DamageWatcher } from './desktop/damage.js';
import { TouchEmulator } from './desktop/touch.js';
import { DesktopFeatures } from './desktop/features.js';
import { DesktopRoom } from './desktop/room.js';
import { mountDesktopRoutes } from './api/desktop-routes.js';
import { desktopHandlers } from './websocket/handlers/desktop.js';
import { HttpServer } from './http/server.js';
import { createLogger, logOptions, type Logger } from './log.js';
import { createMemberProvider } from './members/index.js';
import { ControlPolicy } from './sessions/control.js';
import { SessionManager } from './sessions/manager.js';
import { initialSettings } from './sessions/settings.js';
import { SettingsEffects } from './sessions/settings-effects.js';
import { SessionPersistence } from './sessions/persistence.js';
import { SessionExpiry } from './sessions/expiry.js';
import { ProfileEffects } from './sessions/profile-effects.js';
import { DataInput } from './webrtc/data-input.js';
import { WebRTCManager } from './webrtc/manager.js';
import { WebSocketGateway } from './websocket/gateway.js';
import { controlHandlers } from './websocket/handlers/control.js';
import { signalHandlers } from './websocket/handlers/signal.js';
import { systemHandlers } from './websocket/handlers/system.js';
import { sendConnectSequence } from './websocket/init.js';
import { iceSettings, muxAddresses, resolveNat1to1 } from './webrtc/ice-config.js';
import { CursorWatcher } from './desktop/cursor.js';
import { CursorBroadcaster } from './webrtc/cursor.js';
import { IceMux } from './webrtc/ice-mux.js';
import { Microphone } from './webrtc/microphone.js';
import { nativeSrtp } from './webrtc/native-srtp.js';
import { prepareUserFolder, resolveDesktopUser } from './process/desktop-user.js';

/** Longest delay between a screen-damage report and the next (see DamageWatcher). */
const DAMAGE_COALESCE_MS = 250;
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export interface App {
  readonly config: Config;
  readonly sessions: SessionManager;
  readonly desktop: Desktop;
  readonly capture: Capture;
  readonly webrtc: WebRTCManager;
  /** Keyboard, clipboard, screen, screenshots, uploads as the room uses them. */
  readonly room: DesktopRoom;
  /** Every REST route of every module (the contract test walks it). */
  readonly router: Router;
  /** `http://host:port` the server listens on. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The composition root: config → members → sessions → desktop → capture → webrtc →
 * websocket → api → http. Everything that owns resources is closed in reverse order.
 */
export async function start(config: Config, logger: Logger = createLogger(logOptions(config))): Promise<App> {
  const log = (module: string) => logger.child({ module });
  const closers: Array<() => unknown> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.error({ err }, 'error while shutting down');
      }
    }
  };
  try {
    const members = await createMemberProvider(config, log('members'));
    closers.push(() => members.close());

    const sessions = new SessionManager({
      logger: log('sessions'),
      apiToken: config.session.api_token,
      settings: initialSettings(config.session),
    });
    closers.push(() => sessions.close());
    if (config.session.file) {
      const persistence = await SessionPersistence.open({ path: config.session.file, sessions, logger: log('sessions') });
      closers.push(() => persistence.close());
    }
    // Only these providers mint a new session id per login; the others' sessions are bounded by their members.
    const ephemeral = config.member.provider === 'multiuser' || config.member.provider === 'noauth';
    if (ephemeral && config.session.expire_disconnected > 0) {
      const expiry = new SessionExpiry({ sessions, ttlMs: config.session.expire_disconnected, logger: log('sessions') });
      closers.push(() => expiry.close());
    }
    const shares = await ShareService.open({ key: config.share.key, dir: config.share.dir, sessions, logger: log('shares') });
    closers.push(() => shares.close());
    const profileEffects = new ProfileEffects({ sessions, logger: log('sessions') });
    closers.push(() => profileEffects.close());
    const control = new ControlPolicy(sessions, log('control'));
    const roomSettings = new SettingsEffects({ sessions, logger: log('settings') });
    closers.push(() => roomSettings.close());

    const desktopUser = await resolveDesktopUser(config.desktop.user, log('desktop'));
    // Before the desktop starts: its apps may use the folder right away.
    if (desktopUser && config.filetransfer.enabled) await prepareUserFolder(config.filetransfer.dir, desktopUser, log('filetransfer'));
    const desktop = await Desktop.start({
      display: config.desktop.display || process.env.DISPLAY || undefined,
      screen: config.desktop.screen,
      server: config.desktop.server,
      windowManager: config.desktop.window_manager,
      app: config.desktop.app,
      browser: { homePage: config.desktop.home_page, downloadDir: config.filetransfer.dir },
      appWindowTimeoutMs: config.desktop.app_window_timeout,
      background: config.desktop.background,
      audio: config.desktop.audio,
      user: desktopUser,
      firstDisplay: config.desktop.first_display,
      // Desktop names its own module (and its parts'); a child here would repeat the key.
      logger,
    });
    closers.push(() => desktop.close());
    const touch = new TouchEmulator(desktop.input);
    // A new (or no) host must not inherit keys, buttons or a finger the previous one held down.
    sessions.on('host', () => {
      desktop.input.releaseAll();
      touch.reset();
    });

    const captureDisplay = config.capture.video.display || desktop.display;
    // Without it the shared screen capture runs on an idle screen too (no pause).
    const damage =
      config.capture.video.idle_after > 0
        ? await DamageWatcher.start({
            display: captureDisplay,
            logger,
            // A few reports a second are enough to tell a moving screen from a still one.
            coalesceMs: Math.min(DAMAGE_COALESCE_MS, config.capture.video.idle_after / 4),
          }).catch((err: unknown) => {
            logger.warn({ module: 'damage', err }, 'screen changes not reported (no X DAMAGE): the screen capture never pauses');
            return null;
          })
        : null;
    if (damage) closers.push(() => damage.close());
    const capture = new Capture({
      display: captureDisplay,
      pulseServer: desktop.pulseServer,
      video: {
        codec: config.capture.video.codec,
        ids: config.capture.video.ids,
        pipelines: config.capture.video.pipelines,
        pipeline: config.capture.video.pipeline || undefined,
      },
      audio: {
        codec: config.capture.audio.codec,
        device: config.capture.audio.device,
        pipeline: config.capture.audio.pipeline || undefined,
      },
      screen: desktop.screenSize(),
      logger,
      idleAfterMs: config.capture.video.idle_after,
      grabber: config.capture.video.grabber,
      damage,
    });
    closers.push(() => capture.close());
    // The stream follows the screen: a new size (ours or anyone's xrandr) restarts the encoders.
    desktop.on('screen', (size) => {
      capture.setScreen(size).catch((err: unknown) => logger.error({ err }, 'capture not restarted at the new screen size'));
    });
    const desktopFeatures = await DesktopFeatures.start({
      desktop,
      logger,
      screencast: config.capture.screencast,
      fileChooserDialog: config.desktop.file_chooser_dialog,
    });
    closers.push(() => desktopFeatures.close());
    const room = new DesktopRoom({ sessions, desktop, features: desktopFeatures, logger: log('desktop-room') });
    closers.push(() => room.close());
    const broadcast = new Broadcast({
      display: config.capture.video.display || desktop.display,
      pulseServer: desktop.pulseServer,
      audioDevice: config.capture.audio.device,
      audioBitrate: config.capture.broadcast.audio_bitrate,
      videoBitrate: config.capture.broadcast.video_bitrate,
      preset: config.capture.broadcast.preset,
      pipeline: config.capture.broadcast.pipeline,
      logger: log('broadcast'),
      onStatus: (status) => sessions.broadcast('broadcast/status', status, (s) => s.isAdmin),
    });
    closers.push(() => broadcast.close());
    if (config.capture.broadcast.autostart && config.capture.broadcast.url) {
      // A failed autostart is logged by Broadcast and must not stop the server.
      broadcast.start(config.capture.broadcast.url).catch(() => {});
    }
    const plugins = await startPlugins(config, { sessions, display: desktop.display, runAs: desktopUser, log });
    closers.push(() => plugins.close());
    const inactiveCursors = new InactiveCursors({ sessions, logger: log('cursors') });
    closers.push(() => inactiveCursors.close());

    // Viewers draw the cursor themselves; without XFIXES they simply get no cursor messages.
    const cursorWatcher = await CursorWatcher.start({ display: desktop.display, logger }).catch((err: unknown) => {
      logger.warn({ module: 'cursor', err }, 'cursor tracking unavailable');
      return null;
    });
    if (cursorWatcher) closers.push(() => cursorWatcher.close());
    const cursor = cursorWatcher ? new CursorBroadcaster({ sessions, source: cursorWatcher }) : null;
    if (cursor) closers.push(() => cursor.close());
    const dataInput = new DataInput({
      sessions,
      input: desktop.input,
      touch,
      logger: log('datachannel'),
      inactiveCursors,
      cursor: cursor ?? undefined,
    });
    const ice = iceSettings(config);
    if (nativeSrtp()) log('webrtc').info({ srtp: 'native' }, "viewers' RTP is protected and sent by server/native's sender");
    else log('webrtc').warn({ srtp: 'js' }, "server/native's SRTP sender is not built (scripts/build-native.sh): viewers' RTP is protected in JavaScript, at several times the CPU");
    const nat1to1 = await resolveNat1to1(config, log('webrtc'));
    const mux = ice.udpMux || ice.tcpMux
      ? await IceMux.listen({ udpPort: ice.udpMux, tcpPort: ice.tcpMux, addresses: muxAddresses(nat1to1), logger })
      : null;
    if (mux) closers.push(() => mux.close());
    const microphone = config.capture.microphone.enabled && desktop.pulseServer
      ? new Microphone({
          pulseServer: desktop.pulseServer,
          device: config.capture.microphone.device,
          codec: capture.audioCodec,
          logger,
        })
      : null;
    if (microphone) closers.push(() => microphone.close());
    const estimator = config.webrtc.estimator;
    const webrtc = new WebRTCManager({
      sessions,
      media: capture,
      logger: log('webrtc'),
      ...ice,
      gatherTimeoutMs: config.webrtc.gather_timeout,
      nat1to1,
      mux,
      microphone,
      estimator: {
        enabled: estimator.enabled,
        passive: estimator.passive,
        debug: estimator.debug,
        readIntervalMs: estimator.read_interval,
        initialBitrate: estimator.initial_bitrate,
        stableMs: estimator.stable_duration,
        unstableMs: estimator.unstable_duration,
        stalledMs: estimator.stalled_duration,
        downgradeBackoffMs: estimator.downgrade_backoff,
        upgradeBackoffMs: estimator.upgrade_backoff,
        diffThreshold: estimator.diff_threshold,
      },
      onData: (session, peer, bytes) => dataInput.handle(session, peer, bytes),
      onDataOpen: (session, peer) => void cursor?.opened(session, peer),
      onPeerClosed: (_session, peer) => cursor?.closedPeer(peer),
    });
    closers.push(() => webrtc.close());

    const cookie = config.session.cookie;
    const auth = requireSession(sessions, cookie);
    const metrics = config.server.metrics
      ? new Metrics({
          sessions: () => ({ connected: sessions.connectedSessions().length, total: sessions.list().length }),
          rtp: () => [
            ...capture.videoIds.flatMap((id) => {
              const stats = capture.video(id)?.stats();
              return stats ? [{ stream: id, packets: stats.packets, bytes: stats.bytes }] : [];
            }),
            ...(capture.audio ? [{ stream: 'audio', ...capture.audio.stats() }] : []),
          ],
        })
      : null;
    if (metrics) closers.push(() => metrics.close());

    const gateway = new WebSocketGateway({
      sessions,
      logger: log('websocket'),
      cookie,
      origins: config.server.cors,
      proxy: config.server.proxy,
      maxPayload: config.server.max_ws_payload,
      rateLimit: config.server.ws_rate,
      onEvent: (event, result) => metrics?.wsEvents.inc({ event, result }),
      handlers: {
        ...systemHandlers(log('websocket')),
        ...signalHandlers(webrtc),
        ...controlHandlers(control, desktop.input, { inactiveCursors, touch }),
        ...desktopHandlers({ sessions, control, room, input: desktop.input }),
        ...messagingHandlers(sessions),
        ...plugins.handlers(),
      },
      onConnect: (session) =>
        sendConnectSequence(session, {
          sessions,
          screenSize: () => desktop.screenSize(),
          screenSizes: () => room.screenConfigurations(),
          fileChooserDialogOwner: () => room.dialogOwnerId,
          videoIds: () => capture.videoIds,
          // Contract §11.4: desktop.input.enabled drives touch_events; touch is emulated on the pointer.
          touchEvents: config.desktop.input.enabled,
          screencastEnabled: config.capture.screencast.enabled,
          broadcastStatus: () => broadcast.status(),
          pluginInits: plugins.inits,
        }),
    });

    const loginLimit = new LoginLimiter({
      maxFailures: config.server.login_failures,
      maxSuccesses: config.server.login_successes,
      windowMs: config.server.login_window,
      proxy: config.server.proxy,
      logger: log('login-limit'),
    });
    for (const key of inertSettings(config)) log('config').warn({ key }, `${key} is set but has no effect (see --help)`);

    const router = new Router();
    mountHealthRoutes(router, [desktop, capture], PACKAGE.version);
    mountAuthRoutes(router, { sessions, members, cookie, auth, maxBody: config.server.max_body, loginLimit: loginLimit.middleware() });
    mountGeneralRoutes(router, { sessions, auth, metrics });
    mountBatchRoutes(router, { maxBody: config.server.max_body, logger: log('batch') });
    mountRoomSettingsRoutes(router, {
      sessions,
      settings: roomSettings,
      auth,
      maxBody: config.server.max_body,
      lockedFor: (session) => shares.lockedSettings(session.id),
    });
    mountControlRoutes(router, { sessions, control, auth });
    mountMembersRoutes(router, { sessions, members, auth, maxBody: config.server.max_body, logger: log('members') });
    mountSessionsRoutes(router, { sessions, auth, logger: log('sessions') });
    mountSharesRoutes(router, {
      shares,
      sessions,
      cookie,
      auth,
      maxBody: config.server.max_body,
      pathPrefix: config.server.path_prefix,
      loginLimit: loginLimit.middleware(),
    });
    mountEmbedRoutes(router, config.embed.origins);
    plugins.mount(router, auth, config.server.max_body);
    mountBroadcastRoutes(router, { broadcast, auth, maxBody: config.server.max_body });
    mountDesktopRoutes(router, {
      sessions,
      room,
      auth,
      maxBody: config.server.max_body,
      uploadDrop: config.desktop.upload_drop,
      fileChooserDialog: config.desktop.file_chooser_dialog,
      uploadLimits: {
        maxFiles: config.desktop.upload_max_files,
        maxFileBytes: config.desktop.upload_max_file_size,
        maxTotalBytes: config.desktop.upload_max_total_size,
      },
      logger: log('desktop-routes'),
    });

    const http = new HttpServer({
      bind: config.server.bind,
      logger: log('http'),
      router,
      gateway,
      staticDir: config.server.static || config.server.client_dir,
      pathPrefix: config.server.path_prefix,
      cors: config.server.cors,
      proxy: config.server.proxy,
      metrics,
      tls: config.server.cert && config.server.key ? { cert: config.server.cert, key: config.server.key } : null,
      embedOrigins: config.embed.origins,
    });
    closers.push(() => http.close());
    // Closers run in reverse: upgraded WebSocket connections would keep http.close() waiting.
    closers.push(() => gateway.close());
    const addr = await http.listen();
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

    let closing: Promise<void> | null = null;
    return {
      config,
      sessions,
      desktop,
      capture,
      webrtc,
      room,
      router,
      url: `${config.server.cert && config.server.key ? 'https' : 'http'}://${host}:${addr.port}`,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(helpText());
    return;
  }
  let config: Config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let logger: Logger;
  try {
    logger = createLogger(logOptions(config));
  } catch (err) {
    process.stderr.write(`configuration error: log.dir ${config.log.dir}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const app = await start(config, logger);
  const shutdown = (signal: string) => {
    logger.info({ module: 'main', signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const { user_password, admin_password } = config.member.multiuser;
  const credentials = config.member.provider === 'multiuser'
    ? `any user name; password "${user_password}" (user) or "${admin_password}" (admin)`
    : `members of the ${config.member.provider} provider`;
  process.stderr.write(`\n  neko-ts is running: open ${app.url}/\n  log in with ${credentials}\n\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
