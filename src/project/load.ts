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
  return location.format === 'devbox.json' ? projectFromDevboxJson(file, env, home) : projectFromDevcontainerJson(file, env, home);
}

/** The project `start` is in (walking up); a DevboxError saying how to create one when there is none. */
export function loadProject(start: string = process.cwd(), options: LoadOptions = {}): ProjectConfig {
  const location = findProjectConfig(start);
  if (!location) {
    throw new DevboxError(`no devbox.json or .devcontainer/devcontainer.json in ${start} or any folder above it`, {
      fix: 'run devbox init in the project\'s root folder (devbox init --list shows the templates)',
    });
  }
  return loadProjectConfig(location, options);
}
