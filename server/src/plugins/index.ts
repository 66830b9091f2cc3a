import type { Router } from '@koa/router';
import type { Middleware } from 'koa';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { RunAs } from '../process/spawn.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import type { EventTable } from '../websocket/gateway.js';
import { ChatPlugin } from './chat.js';
import { mountChatRoutes } from './chat-routes.js';
import { FileTransferPlugin } from './filetransfer.js';
import { mountFileTransferRoutes } from './filetransfer-routes.js';
import { mountOpenInAppRoutes, OpenInAppPlugin } from './openinapp.js';

/** The built-in plugins (contract §10) as one unit the composition root wires in. */
export interface Plugins {
  readonly chat: ChatPlugin;
  readonly fileTransfer: FileTransferPlugin;
  readonly openInApp: OpenInAppPlugin;
  /** Their WebSocket events. */
  handlers(): EventTable;
  /** Connect-time init events, in the contract's order (§5.2 step 5). */
  readonly inits: Array<(session: Session) => void>;
  mount(router: Router, auth: Middleware, maxBody: number): void;
  close(): Promise<void>;
}

export interface PluginDeps {
  sessions: SessionManager;
  /** X display links are opened on. */
  display: string;
  /** User open-in-app commands run as (null: the server's own). */
  runAs?: RunAs | null;
  log(module: string): Logger;
}

export async function startPlugins(config: Config, deps: PluginDeps): Promise<Plugins> {
  const { sessions } = deps;
  const chat = new ChatPlugin({ enabled: config.chat.enabled, sessions, logger: deps.log('chat') });
  const ft = config.filetransfer;
  const fileTransfer = await FileTransferPlugin.start({
    enabled: ft.enabled,
    dir: ft.dir,
    refreshIntervalMs: ft.refresh_interval,
    userDownload: ft.user_download,
    userUpload: ft.user_upload,
    userDelete: ft.user_delete,
    uploadLimits: { maxFiles: ft.upload_max_files, maxFileBytes: ft.upload_max_file_size, maxTotalBytes: ft.upload_max_total_size },
    sessions,
    logger: deps.log('filetransfer'),
  });
  const openInApp = new OpenInAppPlugin({
    enabled: config.openinapp.enabled,
    command: config.openinapp.open_command,
    display: deps.display,
    runAs: deps.runAs,
    sessions,
    logger: deps.log('openinapp'),
  });
  return {
    chat,
    fileTransfer,
    openInApp,
    handlers: () => ({ ...chat.handlers(), ...fileTransfer.handlers() }),
    inits: [(s) => fileTransfer.init(s), (s) => chat.init(s), (s) => openInApp.init(s)],
    mount(router, auth, maxBody) {
      mountChatRoutes(router, { chat, auth, maxBody });
      mountFileTransferRoutes(router, { plugin: fileTransfer, auth, logger: deps.log('filetransfer') });
      mountOpenInAppRoutes(router, { plugin: openInApp, auth, maxBody });
    },
    async close() {
      fileTransfer.close();
      await openInApp.close();
    },
  };
}
