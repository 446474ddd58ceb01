/**
 * ProjectConfig: one typed description of a project's environment, whichever file it came from
 * (devbox.json or a Dev Containers devcontainer.json). Paths in it are absolute and variables are
 * substituted, except ${containerEnv:VAR}, which only the running sandbox can answer (start-settings.ts).
 */
import type { MountSpec } from '../volume/mount-spec.js';
import type { MetadataEntry } from './devcontainer/metadata.js';
import type { FeatureRequest } from './devcontainer/feature-request.js';
import type { ServiceGroup } from '../compose/service-spec.js';

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

/** The containers a project runs beside its sandbox (a Compose file's other services, devbox.json's "services"). */
export interface ProjectServices {
  group: ServiceGroup;
  /** The services a start brings up (with what they depend on); the others only on `devbox services up NAME`. */
  up: string[];
  /** Files the services are written in besides the config, inputs of the sandbox: a change starts it again. */
  files: string[];
}

export interface ProjectConfig {
  source: ConfigSource;
  /** The project's root folder (holding devbox.json, .devcontainer/ or .devcontainer.json). */
  root: string;
  /** Shown in the prompt and in `devbox ps`. */
  name: string;
  environment: EnvironmentSource;
  /** devbox.json's envImage: the repository (no tag) a built environment is pushed to and pulled from. */
  envImage?: string;
  /** devbox.json's buildCache: a build cache in a registry (REPO:TAG) the environment's build reads, and writes with exportBuildCache. */
  buildCache?: string;
  /**
   * The config's own mounts (the image's and the Features' are added when the sandbox starts): binds (`source`
   * absolute), named volumes (`devbox volume`, shared by every project naming them) and tmpfs.
   */
  mounts: MountSpec[];
  network: NetworkMode;
  /** devbox.json's "network": NAME: the devbox network the sandbox joins (`network` is then `none`). */
  networkName?: string;
  /** A Compose dev service's `network_mode: service:NAME`: the container whose network namespace the sandbox shares. */
  networkShareWith?: string;
  /** Services started before the sandbox, on the network `networkName` names. */
  services?: ProjectServices;
  /** The config's own published ports (devcontainer.json's forwardPorts of this sandbox). */
  ports: PortMapping[];
  /** argv of the program `devbox shell` starts; undefined = the user's shell. */
  shell?: string[];
  /** private: a sandbox-private home at the user's home path; host: the user's real home is mounted. */
  home: 'private' | 'host';
  /** Prefix for the shell prompt inside; '' leaves the prompt alone. */
  prompt: string;
  /** The sandbox's host name (runArgs --hostname); default: made from the name. */
  hostname?: string;
  /** Where the repo is seen inside. Always `root` for devbox.json; a devcontainer.json's workspaceFolder
   * when it names another path: the repo is then mounted there as well as at `root`. */
  workspaceFolder: string;
  /** devcontainer.json's workspaceMount: mounted instead of the repo at workspaceFolder (the repo stays at its own path). */
  workspaceMount?: MountSpec;
  /**
   * What the config says in Dev Containers metadata terms (devbox.json: its env as remoteEnv, its
   * postCreateCommand), merged when the sandbox starts with the image's and the Features' metadata.
   */
  metadata: MetadataEntry;
  /** devcontainer.json: the image's devcontainer.metadata label takes part in the merge. */
  imageMetadata: boolean;
  /** devcontainer.json's initializeCommand: run on the host before each start. */
  initializeCommand?: LifecycleCommand;
  /** devcontainer.json's Features, as written (resolved and installed when the environment is built). */
  features: FeatureRequest[];
  /** devcontainer.json's overrideFeatureInstallOrder. */
  featureInstallOrder: string[];
  /** Said once per change of their text, when the sandbox starts: properties devbox ignores, values it cannot honour. */
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

/** ${containerEnv:VAR} answered from `env` (the sandbox's), an unset variable without default being empty. */
export function resolveContainerEnv(value: string, env: Readonly<Record<string, string>>): string {
  return replaceContainerEnv(value, (name, fallback) => env[name] ?? fallback ?? '');
}
