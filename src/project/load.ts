/** The entry point for commands and the sandbox lifecycle: the ProjectConfig of the project around a folder. */
import { homedir } from 'node:os';
import { DevboxError } from '../util/errors.js';
import { readConfigFile } from './config-file.js';
import { projectFromDevboxJson } from './devbox-json.js';
import { projectFromDevcontainerJson } from './devcontainer-json.js';
import { findProjectConfig, type ConfigLocation } from './discover.js';
import type { ProjectConfig } from './project-config.js';

export interface LoadOptions {
  /** The host environment ${localEnv:VAR} reads; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** What ~ stands for in mounts; the user's home by default. */
  home?: string;
}

/** Reads and checks one config file. */
export function loadProjectConfig(location: ConfigLocation, options: LoadOptions = {}): ProjectConfig {
  const file = readConfigFile(location.path);
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const from = location.format === 'devbox.json' ? projectFromDevboxJson : projectFromDevcontainerJson;
  return from(file, location.root, env, home);
}

/** Where the project around `start` is (walking up); a DevboxError saying how to create one when there is none. */
export function requireProjectConfig(start: string = process.cwd()): ConfigLocation {
  const location = findProjectConfig(start);
  if (!location) {
    throw new DevboxError(`no devbox.json or .devcontainer/devcontainer.json in ${start} or any folder above it`, {
      fix: "run devbox init in the project's root folder (devbox init --list shows the templates)",
    });
  }
  return location;
}

/** The ProjectConfig of the project around `start`. */
export function loadProject(start: string = process.cwd(), options: LoadOptions = {}): ProjectConfig {
  return loadProjectConfig(requireProjectConfig(start), options);
}
