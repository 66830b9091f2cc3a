/**
 * The built-in desktop application: Chromium set up for a shared room. It runs as the desktop
 * user with a profile in that user's home, opens a local welcome page (or the configured home
 * page) maximized, saves downloads to the file-transfer folder without asking, shows no
 * first-run, default-browser, sign-in, translate or crash-restore prompts, and makes no
 * background calls to Google's services.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../log.js';
import { prepareUserFolder } from '../process/desktop-user.js';
import { spawn, type RunAs } from '../process/spawn.js';

/** The `desktop.app` value that selects this set-up rather than a command line. */
export const BUILTIN_BROWSER = 'chromium';

export interface ChromiumOptions {
  /** Who Chromium runs as (null: the server's own user). */
  runAs: RunAs | null;
  /** First page; '' for the bundled welcome page. */
  homePage: string;
  /** Where downloads go (the file-transfer folder). */
  downloadDir: string;
  /**
   * Tells profiles of servers on other displays apart: a second Chromium on a profile in use
   * hands its window to the first one (on that one's display) and exits.
   */
  display: string;
  logger: Logger;
}

export interface Launch {
  command: string;
  args: string[];
}

/** Prompts and background traffic a shared, possibly offline, browser has no use for. */
const FLAGS = [
  '--no-first-run',
  '--no-default-browser-check',
  '--start-maximized',
  // No keyring daemon runs on this desktop: the default store would prompt for one.
  '--password-store=basic',
  '--hide-crash-restore-bubble',
  '--disable-infobars',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-breakpad',
  '--disable-default-apps',
  '--no-pings',
  '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater',
];

/**
 * Prepares the profile and the download folder and returns the command line. The profile's
 * Preferences are merged, not replaced, so the room keeps its bookmarks and settings across
 * restarts while the download folder and the prompts stay as configured.
 */
export async function chromiumLaunch(opts: ChromiumOptions): Promise<Launch> {
  const logger = opts.logger;
  const home = opts.runAs?.home ?? homedir();
  const profile = join(home, '.config', 'neko', `chromium-${opts.display.replace(/^:/, '').replace(/[^0-9A-Za-z.]/g, '_')}`);
  const downloadDir = resolve(opts.downloadDir);

  await prepareDownloads(downloadDir, opts.runAs, logger);
  let homePage = opts.homePage;
  if (!homePage) {
    // In the profile: servers on other displays may have other download folders to show.
    const page = join(profile, 'welcome.html');
    await writeAsUser(page, welcomePage(downloadDir), opts.runAs);
    homePage = pathToFileURL(page).href;
  }
  const prefsFile = join(profile, 'Default', 'Preferences');
  const prefs = merge(await readJsonAsUser(prefsFile, opts.runAs), seededPreferences(downloadDir, homePage));
  await writeAsUser(prefsFile, JSON.stringify(prefs), opts.runAs);

  const args = [`--user-data-dir=${profile}`, ...FLAGS];
  if (!(await sandboxWorks(opts.runAs))) {
    // Debian ships no setuid sandbox helper, so without user namespaces (a container's
    // seccomp profile, a sysctl) Chromium would refuse to start at all.
    logger.warn(
      { user: opts.runAs?.name },
      'Chromium runs without its sandbox: user namespaces are not available to the desktop user here',
    );
    // --test-type hides the infobar that would warn every viewer about --no-sandbox.
    args.push('--no-sandbox', '--test-type');
  }
  args.push(homePage);
  logger.info({ profile, homePage, downloadDir }, 'Chromium prepared');
  return { command: BUILTIN_BROWSER, args };
}

function seededPreferences(downloadDir: string, homePage: string): Record<string, unknown> {
  return {
    download: { default_directory: downloadDir, prompt_for_download: false, directory_upgrade: true },
    savefile: { default_directory: downloadDir },
    // A server stopped or killed with Chromium leaves "Crashed" here, which asks to restore pages.
    profile: { exit_type: 'Normal', exited_cleanly: true },
    browser: { has_seen_welcome_page: true, check_default_browser: false, show_home_button: true },
    homepage: homePage,
    homepage_is_newtabpage: false,
    signin: { allowed: false, allowed_on_next_startup: false },
    // Everyone in the room would see, and could use, a saved password.
    credentials_enable_service: false,
    credentials_enable_autosignin: false,
    autofill: { profile_enabled: false, credit_card_enabled: false },
    translate: { enabled: false },
    // Each of these sends what is typed or visited to a remote service.
    search: { suggest_enabled: false },
    safebrowsing: { enabled: false },
    alternate_error_pages: { enabled: false },
    net: { network_prediction_options: 2 },
  };
}

/** `base` with `over` laid on top, objects merged key by key. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const old = out[key];
    out[key] = isObject(old) && isObject(value) ? merge(old, value) : value;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The bundled welcome page with the download folder filled in. */
function welcomePage(downloadDir: string): string {
  const escaped = downloadDir.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return readFileSync(assetPath('welcome.html'), 'utf8').replaceAll('{{DOWNLOADS}}', escaped);
}

/** `server/assets/<name>`, found from this file (source or build tree). */
function assetPath(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'server', 'assets', name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`server/assets/${name} not found`);
}

async function prepareDownloads(dir: string, runAs: RunAs | null, logger: Logger): Promise<void> {
  if (runAs) await prepareUserFolder(dir, runAs, logger);
  else await mkdir(dir, { recursive: true });
  if ((await runAsUser('test', ['-w', dir], runAs)).code !== 0) {
    logger.warn({ dir, user: runAs?.name }, 'the desktop user cannot write to the download folder: downloads will fail');
  }
}

/**
 * Whether Chromium's namespace sandbox can work for this user: it needs new user, PID and
 * network namespaces, which is what this tries.
 */
async function sandboxWorks(runAs: RunAs | null): Promise<boolean> {
  const r = await runAsUser('unshare', ['--user', '--map-root-user', '--pid', '--net', '--fork', 'true'], runAs).catch(() => null);
  return r?.code === 0;
}

/**
 * Files in the desktop user's home are written by that user, never by a root server: the
 * user (anyone with control of the desktop) could have put a link where the file goes.
 */
async function writeAsUser(path: string, content: string, runAs: RunAs | null): Promise<void> {
  const script = 'umask 077 && mkdir -p -- "$(dirname -- "$1")" && cat > "$1.tmp" && mv -f -- "$1.tmp" "$1"';
  const r = await runAsUser('/bin/sh', ['-c', script, 'sh', path], runAs, content);
  if (r.code !== 0) throw new Error(`cannot write ${path} as ${runAs?.name ?? 'the server user'}: ${r.stderr.trim()}`);
}

/** The JSON object in `path`, or {} when the file is missing or not a JSON object. */
async function readJsonAsUser(path: string, runAs: RunAs | null): Promise<Record<string, unknown>> {
  const r = await runAsUser('/bin/sh', ['-c', '[ ! -e "$1" ] || cat -- "$1"', 'sh', path], runAs);
  if (r.code !== 0 || !r.stdout) return {};
  try {
    const parsed: unknown = JSON.parse(r.stdout);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** Largest output kept from a helper (a Preferences file of a long-used profile fits easily). */
const MAX_OUTPUT = 16 << 20;

function runAsUser(
  command: string,
  args: string[],
  runAs: RunAs | null,
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { runAs, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_OUTPUT) out.push(chunk);
      else child.kill('SIGKILL');
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.stdin!.on('error', () => {}); // a helper that exits without reading its input
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: size <= MAX_OUTPUT ? Buffer.concat(out).toString('utf8') : '', stderr });
    });
    child.stdin!.end(input);
  });
}
