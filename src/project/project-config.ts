/**
 * ProjectConfig: one typed description of a project's environment, whichever file it came from
 * (devbox.json or a Dev Containers devcontainer.json). Paths in it are absolute and variables are
 * substituted, except ${containerEnv:VAR}, which only the image can answer (see sandboxEnvironment).
 */
import type { MountSpec } from '../volume/mount-spec.js';

export type ConfigFormat = 'devbox.json' | 'devcontainer.json';

export interface ConfigSource {
  format: ConfigFormat;
  /** Absolute path of the file. */
  path: string;
}

/** Where the environment's image comes from. */
export type EnvironmentSource =
  | { kind: 'image'; image: string }
  | {
      kind: 'dockerfile';
      /** Absolute path of the Dockerfile. */
      dockerfile: string;
      /** Absolute path of the build context folder. */
      context: string;
      buildArgs: Record<string, string>;
      target?: string;
    };

/** A bind (`source` absolute), a named volume devbox keeps (`devbox volume`, shared by every project naming it) or a tmpfs. */
export type MountConfig = MountSpec;

export interface PortMapping {
  /** Host address to listen on; undefined = 127.0.0.1, as for `devbox run -p` (a dev server is for this machine). */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export type NetworkMode = 'slirp4netns' | 'host' | 'none';

/** A command in Dev Containers' lifecycle forms. */
export type LifecycleStep =
  /** A string: run by /bin/sh -c in the sandbox. */
  | { kind: 'shell'; command: string }
  /** An array: run directly, no shell. */
  | { kind: 'exec'; argv: string[] };

/** One lifecycle command: a single step, or named steps run in parallel (the object form). */
export type LifecycleCommand = LifecycleStep | { kind: 'parallel'; steps: Record<string, LifecycleStep> };

export interface ProjectConfig {
  source: ConfigSource;
  /** The project's root folder (holding devbox.json, .devcontainer/ or .devcontainer.json). */
  root: string;
  /** Shown in the prompt and in `devbox ps`. */
  name: string;
  environment: EnvironmentSource;
  /** devbox.json's envImage: the repository (no tag) a built environment is pushed to and pulled from. */
  envImage?: string;
  /** Variables set in the sandbox (null unsets one the image sets); values may hold ${containerEnv:VAR}. */
  env: Record<string, string | null>;
  mounts: MountConfig[];
  network: NetworkMode;
  ports: PortMapping[];
  /** argv of the program `devbox shell` starts; undefined = the user's shell. */
  shell?: string[];
  /** Run once per fresh sandbox, in order, in the project folder (devcontainer.json's onCreateCommand,
   * updateContentCommand and postCreateCommand, in the spec's order). */
  postCreate: LifecycleCommand[];
  /** private: a sandbox-private home at the user's home path; host: the user's real home is mounted. */
  home: 'private' | 'host';
  /** Prefix for the shell prompt inside; '' leaves the prompt alone. */
  prompt: string;
  /** Where the repo is seen inside. Always `root` for devbox.json; a devcontainer.json's workspaceFolder
   * when it names another path: the repo is then mounted there as well as at `root`. */
  workspaceFolder: string;
  /** devcontainer.json's remoteUser: the image account whose place the invoking user takes (its uid/gid
   * become the user's, as Dev Containers' updateRemoteUserUID does on Linux). */
  remoteUser?: string;
  /** Said once, when the environment is (re)built: properties devbox ignores, values it cannot honour. */
  warnings: string[];
}

/** Build arguments as `devbox build --build-arg` takes them. */
export function buildArgList(args: Record<string, string>): string[] {
  return Object.entries(args).map(([k, v]) => `${k}=${v}`);
}

/** The prompt prefix when the config sets none. */
export function defaultPrompt(name: string): string {
  return `(devbox:${name}) `;
}

const CONTAINER_ENV = /\$\{containerEnv:([^}:]+)(?::([^}]*))?\}/g;

/** Replaces each ${containerEnv:NAME[:default]} in `value` with `lookup`'s answer; undefined keeps it as written. */
export function replaceContainerEnv(value: string, lookup: (name: string, fallback?: string) => string | undefined): string {
  return value.replace(CONTAINER_ENV, (whole, name: string, fallback?: string) => lookup(name, fallback) ?? whole);
}

/**
 * The sandbox's environment: the image's variables, then the project's, with ${containerEnv:VAR} in the
 * project's values read from the image's (as remoteEnv's `"PATH": "${containerEnv:PATH}:/opt/bin"` expects).
 */
export function sandboxEnvironment(config: Pick<ProjectConfig, 'env'>, imageEnv: Record<string, string>): Record<string, string> {
  const env = { ...imageEnv };
  for (const [key, value] of Object.entries(config.env)) {
    if (value === null) delete env[key];
    else env[key] = replaceContainerEnv(value, (name, fallback) => imageEnv[name] ?? fallback ?? '');
  }
  return env;
}
