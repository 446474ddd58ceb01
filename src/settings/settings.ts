/**
 * User settings, in $XDG_CONFIG_HOME/devbox/config.json. Read here with plain fs: `devbox run` cannot afford
 * to load conf (and its schema validator) on every start; `devbox config set` writes through conf.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';

export const STORAGE_DRIVERS = ['auto', 'native', 'fuse', 'copy'] as const;
export type StorageSetting = (typeof STORAGE_DRIVERS)[number];
export const NETWORK_MODES = ['slirp4netns', 'host', 'none'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];
export const NETWORK_BACKENDS = ['auto', 'slirp4netns', 'pasta'] as const;
export type NetworkBackendSetting = (typeof NETWORK_BACKENDS)[number];

export interface Settings {
  /** Where images, layers and containers live. */
  storageRoot: string;
  /** Which overlay backend to use; `auto` probes kernel overlay, then fuse-overlayfs, then copies. */
  storage: StorageSetting;
  /** The network of `devbox run` sandboxes when --network is not given (see docs/networking.md). */
  network: NetworkMode;
  /** What links an isolated network to the host's: slirp4netns, pasta, or `auto` (docs/networking.md says which). */
  networkBackend: NetworkBackendSetting;
  /** Forward ports that processes in a slirp4netns sandbox start listening on. */
  autoForward: boolean;
  /** Let slirp4netns sandboxes reach the host's 127.0.0.1 as 10.0.2.2. */
  allowHostLoopback: boolean;
  /** Project environment builds write their steps to the project's buildCache (the setting of the machine that fills it: CI). */
  exportBuildCache: boolean;
  /** Per registry host, mirrors (`host[:port][/path]`) tried in order before it, like registries.conf mirrors. */
  registryMirrors: Record<string, string[]>;
  /** Registries (host[:port]) spoken to over plain HTTP; loopback ones always are, as with Docker. */
  insecureRegistries: string[];
  /** Platform pulled from a multi-platform image when --platform is not given; empty: the host's. */
  defaultPlatform: string;
  /** A PEM file of certificate authorities project sandboxes trust besides their image's (a proxy's CA); empty: none. */
  caCertificates: string;
}

export const SETTING_KEYS = [
  'storageRoot',
  'storage',
  'network',
  'networkBackend',
  'autoForward',
  'allowHostLoopback',
  'exportBuildCache',
  'registryMirrors',
  'insecureRegistries',
  'defaultPlatform',
  'caCertificates',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

function xdg(variable: string, fallback: string): string {
  const value = process.env[variable];
  return value?.startsWith('/') ? value : join(homedir(), fallback);
}

export function configDir(): string {
  return join(xdg('XDG_CONFIG_HOME', '.config'), 'devbox');
}

export function settingsPath(): string {
  return join(configDir(), 'config.json');
}

export function defaultSettings(): Settings {
  return {
    storageRoot: join(xdg('XDG_DATA_HOME', '.local/share'), 'devbox'),
    storage: 'auto',
    network: 'slirp4netns',
    networkBackend: 'auto',
    autoForward: true,
    allowHostLoopback: false,
    exportBuildCache: false,
    registryMirrors: {},
    insecureRegistries: [],
    defaultPlatform: '',
    caCertificates: '',
  };
}

/** Keys whose value is JSON (a list or an object) rather than a string. */
const JSON_SETTING_KEYS: readonly SettingKey[] = ['registryMirrors', 'insecureRegistries'];
const BOOLEAN_SETTING_KEYS: readonly SettingKey[] = ['autoForward', 'allowHostLoopback', 'exportBuildCache'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0);
}

/** Checks one value; returns the reason it is wrong, or undefined. */
export function validateSetting(key: SettingKey, value: unknown): string | undefined {
  switch (key) {
    case 'storageRoot':
      return typeof value === 'string' && value.startsWith('/') ? undefined : 'an absolute path';
    case 'storage':
      return STORAGE_DRIVERS.includes(value as StorageSetting) ? undefined : `one of ${STORAGE_DRIVERS.join(', ')}`;
    case 'network':
      return NETWORK_MODES.includes(value as NetworkMode) ? undefined : `one of ${NETWORK_MODES.join(', ')}`;
    case 'networkBackend':
      return NETWORK_BACKENDS.includes(value as NetworkBackendSetting) ? undefined : `one of ${NETWORK_BACKENDS.join(', ')}`;
    case 'autoForward':
    case 'allowHostLoopback':
    case 'exportBuildCache':
      return typeof value === 'boolean' ? undefined : 'true or false';
    case 'registryMirrors':
      return isPlainObject(value) && Object.values(value).every(isStringList) ? undefined : 'a JSON object of registry → list of mirrors';
    case 'insecureRegistries':
      return isStringList(value) ? undefined : 'a JSON list of registries';
    case 'caCertificates':
      return typeof value === 'string' && (value === '' || value.startsWith('/')) ? undefined : 'the absolute path of a PEM file, or "" for none';
    case 'defaultPlatform':
      return typeof value === 'string' && /^([a-z0-9._-]+(\/[a-z0-9._-]+){0,2})?$/.test(value) ? undefined : 'os/arch[/variant], e.g. linux/arm64';
  }
}

/** A value as `devbox config set KEY VALUE` gives it, in the type the settings file keeps. */
export function settingValue(key: SettingKey, text: string): unknown {
  if (BOOLEAN_SETTING_KEYS.includes(key)) return text === 'true' || text === 'false' ? text === 'true' : text;
  if (!JSON_SETTING_KEYS.includes(key)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text; // reported by validateSetting as not of the expected shape
  }
}

export function readSettings(path = settingsPath()): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return defaultSettings();
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DevboxError(`${path}: not valid JSON (${(error as Error).message})`, { fix: 'fix or delete the file' });
  }
  const settings = defaultSettings();
  for (const key of SETTING_KEYS) {
    if (parsed[key] === undefined) continue;
    const expected = validateSetting(key, parsed[key]);
    if (expected) throw new DevboxError(`${path}: "${key}" must be ${expected}`, { fix: `devbox config set ${key} VALUE` });
    (settings as unknown as Record<string, unknown>)[key] = parsed[key];
  }
  return settings;
}
