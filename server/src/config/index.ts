import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidValue, type IceServer } from './codecs.js';
import { OPTIONS, envName, type AnyOption, type ConfigTree } from './options.js';

export type {
  IceServer,
  MemberUser,
  ProfileOverrides,
  ScreenConfig,
  VideoPipelineConfig,
} from './codecs.js';
export { OPTIONS, envName, type OptionDef } from './options.js';

/**
 * The effective configuration. Nesting mirrors the dotted keys of contract §11 with their
 * exact snake_case names (`config.session.cookie.enabled`). Duration keys hold milliseconds;
 * `desktop.screen` is `{width, height, rate}`; `config` is the file actually loaded ('' if none).
 */
export interface Config extends ConfigTree {}

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    message: string,
    /** Dotted option key, when the problem concerns one. */
    readonly key?: string,
    readonly source?: ConfigSource,
  ) {
    super(message);
  }
}

const BY_KEY = new Map<string, AnyOption>(OPTIONS.map((o) => [o.key, o]));
/** Every proper prefix of a key, so a file walk knows which maps are sections. */
const SECTIONS = new Set(
  OPTIONS.flatMap((o) => {
    const parts = o.key.split('.');
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);
const SEARCH_DIRS = ['/etc/neko'];
const FILE_NAMES = ['neko.yaml', 'neko.yml', 'neko.json', 'neko.toml'];

interface RawValue {
  raw: unknown;
  source: ConfigSource;
  /** Human origin for messages: the file path, env var or flag. */
  origin: string;
}

/** The composition root checks this before loading, so `--help` works even with bad flags. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a === '-h');
}

/**
 * Builds the configuration: defaults < config file < `NEKO_*` env < CLI flags. Every layer
 * that sets a key is validated, even when a higher one overrides it, so a typo never hides.
 * Throws ConfigError naming the key and where the bad value came from.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Config {
  const flags = parseArgv(argv);
  const envValues = readEnv(env);

  const explicit = flags.get('config')?.raw ?? envValues.get('config')?.raw;
  const file = typeof explicit === 'string' && explicit !== '' ? path.resolve(cwd, explicit) : discoverFile(cwd);
  const fileValues = file === null ? new Map<string, RawValue>() : readFile(file);

  const ctx = { cwd };
  const parsed = new Map<string, unknown>();
  for (const option of OPTIONS) {
    const layers: RawValue[] = [{ raw: option.default, source: 'default', origin: 'built-in default' }];
    for (const layer of [fileValues, envValues, flags]) {
      const value = layer.get(option.key);
      if (value) layers.push(value);
    }
    for (const { raw, source, origin } of layers) {
      try {
        parsed.set(option.key, option.codec.parse(raw, ctx));
      } catch (err) {
        if (!(err instanceof InvalidValue)) throw err;
        throw new ConfigError(`invalid value for ${option.key} from ${origin}: ${err.message}`, option.key, source);
      }
    }
  }
  parsed.set('config', file ?? '');

  const config: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    if (option.stored) setPath(config, option.key, parsed.get(option.key));
  }
  applyIceFallback(config as unknown as Config, parsed.get('webrtc.iceservers') as IceServer[]);
  return config as unknown as Config;
}

/** Contract §9.3: the deprecated flat list serves both sides only when neither is configured. */
function applyIceFallback(config: Config, legacy: IceServer[]): void {
  const ice = config.webrtc.iceservers;
  if (legacy.length > 0 && ice.frontend.length === 0 && ice.backend.length === 0) {
    ice.frontend = structuredClone(legacy);
    ice.backend = structuredClone(legacy);
  }
}

function setPath(root: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = root;
  for (const part of parts.slice(0, -1)) {
    node = (node[part] ??= {}) as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function parseArgv(argv: readonly string[]): Map<string, RawValue> {
  const out = new Map<string, RawValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') continue;
    if (!arg.startsWith('--') || arg === '--') {
      throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (options are --<key> <value>; see --help)`);
    }
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq < 0 ? undefined : eq);
    const option = BY_KEY.get(key);
    if (!option) throw new ConfigError(`unknown flag --${key} (see --help)`, key, 'flag');
    let raw: string;
    if (eq >= 0) {
      raw = arg.slice(eq + 1);
    } else if (option.codec.isFlag) {
      raw = 'true';
    } else {
      const next = argv[i + 1];
      // A missing value would otherwise swallow the next flag as text.
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(`flag --${key} needs a value (--${key} <value> or --${key}=<value>)`, key, 'flag');
      }
      raw = next;
      i++;
    }
    out.set(key, { raw, source: 'flag', origin: `flag --${key}` });
  }
  return out;
}

/** An empty variable counts as set: `NEKO_DESKTOP_APP=` is how one disables the demo app. */
function readEnv(env: NodeJS.ProcessEnv): Map<string, RawValue> {
  const out = new Map<string, RawValue>();
  for (const option of OPTIONS) {
    const name = envName(option.key);
    const raw = env[name];
    if (raw !== undefined) out.set(option.key, { raw, source: 'env', origin: `env ${name}` });
  }
  return out;
}

function discoverFile(cwd: string): string | null {
  for (const dir of [...SEARCH_DIRS, cwd]) {
    for (const name of FILE_NAMES) {
      const candidate = path.resolve(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return null;
}

function readFile(file: string): Map<string, RawValue> {
  if (file.toLowerCase().endsWith('.toml')) {
    throw new ConfigError(
      `config file ${file}: TOML is not supported; write the same keys as YAML (neko.yaml) or JSON`,
      undefined,
      'file',
    );
  }
  let content: unknown;
  try {
    const textContent = readFileSync(file, 'utf8');
    content = file.toLowerCase().endsWith('.json') ? JSON.parse(textContent) : parseYaml(textContent);
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`, undefined, 'file');
  }
  const out = new Map<string, RawValue>();
  if (content === null || content === undefined) return out;
  if (typeof content !== 'object' || Array.isArray(content)) {
    throw new ConfigError(`config file ${file}: the top level must be a map of keys`, undefined, 'file');
  }
  const origin = `file ${file}`;
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(node)) {
      const key = prefix + name;
      const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
      // `webrtc.iceservers` is both a (deprecated) list key and the section of frontend/backend.
      if (SECTIONS.has(key) && (isMap || !BY_KEY.has(key))) {
        if (isMap) walk(value as Record<string, unknown>, `${key}.`);
        else if (value !== null) {
          throw new ConfigError(`config file ${file}: ${key} must be a map of keys`, key, 'file');
        }
      } else if (BY_KEY.has(key)) {
        if (value !== null) out.set(key, { raw: value, source: 'file', origin });
      } else {
        throw new ConfigError(`config file ${file}: unknown key ${key}`, key, 'file');
      }
    }
  };
  walk(content as Record<string, unknown>, '');
  return out;
}

/** Keys of options that have no effect here yet were given a value other than their default. */
export function inertSettings(config: Config): string[] {
  return OPTIONS.filter((o) => {
    if (!o.inert) return false;
    const value = o.key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
    return JSON.stringify(value) !== JSON.stringify(o.codec.parse(o.default, { cwd: process.cwd() }));
  }).map((o) => o.key);
}

/** Every option with its flag, env var, default and description, for `--help`. */
export function helpText(): string {
  const lines = [
    'Usage: neko [--<key> <value> | --<key>=<value> | --<bool-key>[=false]]...',
    '',
    'Settings are read from, lowest to highest precedence: built-in defaults, the config',
    'file (--config / NEKO_CONFIG, else neko.yaml|yml|json in /etc/neko/ or the working',
    'directory), NEKO_* environment variables, command-line flags. Boolean values accept',
    'true/false, 1/0, yes/no. Durations look like 30s, 90m, 1h30m and are stored in ms.',
    'In env vars and flags, lists take items separated by commas and/or whitespace (or a',
    'JSON array), and structured values (<json>) take a JSON string.',
    '',
    '  -h, --help',
    '        print this help and exit',
  ];
  for (const option of OPTIONS) {
    const hint = option.codec.isFlag ? option.codec.hint : ` ${option.codec.hint}`;
    lines.push(
      `  --${option.key}${hint}   $${envName(option.key)}`,
      `        ${option.description} (default ${JSON.stringify(option.default)})`,
    );
  }
  return `${lines.join('\n')}\n`;
}
