/**
 * What a project's sandbox starts with, once its image is known: the config's metadata merged with the
 * image's devcontainer.metadata label (devcontainer.json only; the label of an environment built with
 * Features carries theirs), by the spec's rules (devcontainer/metadata.ts). Users, environment, mounts,
 * ports, lifecycle hooks and what devbox cannot honour, in one place. Pure but for reading nothing: the image
 * is already resolved.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import type { StoredImage } from '../image/store.js';
import type { AccountRequest } from '../sandbox/identity.js';
import { devboxSchema } from './package-files.js';
import {
  CONTAINER_HOOKS,
  METADATA_LABEL,
  mergeMetadata,
  parseMetadataLabel,
  type ContainerHook,
  type MergedMetadata,
  type MetadataEntry,
  type OriginEntry,
  type PortAttributes,
  type UserEnvProbe,
  type WaitFor,
} from './devcontainer/metadata.js';
import type { PortAttributeRule, PortAttributeRules } from '../network/options.js';
import { forwardedPorts } from './devcontainer-json.js';
import { lifecycleCommand, projectMount } from './normalize.js';
import type { LifecycleCommand, PortMapping, ProjectConfig } from './project-config.js';
import type { MountSpec } from '../volume/mount-spec.js';
import { substituteVariables } from './variables.js';

/** A lifecycle command with the words that name it: "postCreateCommand from devcontainer.json". */
export interface Hook {
  hook: ContainerHook;
  origin: string;
  command: LifecycleCommand;
}

export interface StartSettings {
  /** An image account to enter as; undefined: the invoking user (also when the remote user is root). */
  account?: AccountRequest;
  /** The user of the container command and of Features' _CONTAINER_USER: containerUser, else the image's USER, else root. */
  containerUser: string;
  /** Set in every process of the sandbox, over the image's Env (${containerEnv:VAR} not yet answered). */
  containerEnv: Record<string, string>;
  /** Set in the processes devbox starts in it; null unsets. */
  remoteEnv: Record<string, string | null>;
  mounts: MountSpec[];
  ports: PortMapping[];
  /** portsAttributes and otherPortsAttributes as auto-forward applies them (labels, ports ignored). */
  portAttributes?: PortAttributeRules;
  hooks: Hook[];
  waitFor: WaitFor;
  userEnvProbe: UserEnvProbe;
  /** Run in the background at each start (Features' entrypoints, and the image's own command without overrideCommand). */
  containerCommand?: string[];
  shutdownAction: 'none' | 'stopContainer' | 'stopCompose';
  hostRequirements?: MergedMetadata['hostRequirements'];
  /** Per tool, every entry's customizations (kept for editors; devbox applies none). */
  customizations: Record<string, unknown[]>;
  /** What devbox does not honour, one line each. */
  warnings: string[];
}

/** The image's devcontainer.metadata entries, each named for messages; problems with the label become warnings. */
function imageEntries(image: StoredImage, imageName: string, warnings: string[]): OriginEntry[] {
  const label = image.config.config?.Labels?.[METADATA_LABEL];
  if (label === undefined) return [];
  const { entries, problems } = parseMetadataLabel(label, `image ${imageName}`, devboxSchema().$defs ?? {});
  warnings.push(...problems);
  return entries.map((entry) => ({ origin: entry.id ? `feature ${entry.id}` : `image ${imageName}`, entry }));
}

function isRoot(user: string): boolean {
  const name = user.split(':')[0];
  return name === '' || name === 'root' || name === '0';
}

/** Where the last entry with `key` came from, for messages. */
function originOf(entries: readonly OriginEntry[], key: keyof MetadataEntry): string | undefined {
  return [...entries].reverse().find(({ entry }) => entry[key] !== undefined)?.origin;
}

function describeOrigin(origin: string | undefined, key: string, configPath: string): string {
  return origin === 'devcontainer.json' ? `"${key}" in ${configPath}` : `"${key}" in the devcontainer.metadata of ${origin}`;
}

/** Mounts of the image's and Features' metadata, then the config's own; for one target the last wins. */
function mergedMounts(project: ProjectConfig, merged: MergedMetadata, warnings: string[]): MountSpec[] {
  const context = { base: project.root, home: homedir() };
  const fromMetadata = merged.mounts.flatMap(({ origin, mount }) => {
    const parsed = projectMount(mount, context);
    if (!parsed.ok) {
      warnings.push(`a mount of ${origin} is not one devbox can make (${parsed.reason}): left out`);
      return [];
    }
    // An image or Feature may expect what this machine lacks (docker-outside-of-docker: /var/run/docker.sock).
    if (parsed.value.type === 'bind' && !existsSync(parsed.value.source)) {
      warnings.push(`${origin} mounts ${parsed.value.source}, which this machine does not have: left out`);
      return [];
    }
    return [parsed.value];
  });
  const all = [...fromMetadata, ...project.mounts];
  return all.filter((mount, index) => !all.slice(index + 1).some((later) => later.target === mount.target));
}

/** What the merged metadata asks that devbox does not do, named once. */
function unsupported(merged: MergedMetadata, warnings: string[]): void {
  for (const { origin } of merged.privileged) {
    warnings.push(`${origin} asks for a privileged container; devbox sandboxes are rootless and never privileged, so it runs without`);
  }
  // Without a seccomp filter or Yama, ptrace of one's own processes needs no capability: debuggers work as they are.
  const capabilities = merged.capAdd.map((cap) => cap.toUpperCase().replace(/^CAP_/, '')).filter((cap) => cap !== 'SYS_PTRACE');
  if (capabilities.length) warnings.push(`devbox does not add capabilities: capAdd ${capabilities.join(', ')} is not applied`);
  const options = merged.securityOpt.filter((option) => !/^(seccomp|apparmor)=unconfined$|^label[=:]disable$/.test(option));
  if (options.length) warnings.push(`devbox does not apply securityOpt ${options.join(', ')}`);
}

/** portsAttributes keys devbox understands: a port, a range, or HOST:PORT of this sandbox. */
function portRange(key: string): { from: number; to: number } | undefined {
  const match = /^(?:(?:localhost|127\.0\.0\.1):)?(\d+)(?:-(\d+))?$/.exec(key);
  return match ? { from: Number(match[1]), to: Number(match[2] ?? match[1]) } : undefined;
}

function ruleOf(attributes: PortAttributes): { label?: string; ignore?: boolean } {
  return { ...(attributes.label ? { label: attributes.label } : {}), ...(attributes.onAutoForward === 'ignore' ? { ignore: true } : {}) };
}

/** The attributes auto-forward and `devbox ports` apply; patterns it cannot match are named. */
function portAttributes(merged: MergedMetadata, warnings: string[]): PortAttributeRules | undefined {
  const rules: PortAttributeRule[] = [];
  for (const [key, attributes] of Object.entries(merged.portsAttributes)) {
    const range = portRange(key);
    if (range) rules.push({ ...range, ...ruleOf(attributes) });
    else warnings.push(`portsAttributes "${key}": devbox matches port numbers and ranges (3000, 3000-3010), not patterns; left out`);
  }
  const others = merged.otherPortsAttributes ? ruleOf(merged.otherPortsAttributes) : undefined;
  return rules.length || others ? { rules, ...(others ? { others } : {}) } : undefined;
}

/** The container command: each Feature's entrypoint, then the image's ENTRYPOINT and CMD when overrideCommand is false. */
function containerCommand(merged: MergedMetadata, image: StoredImage): string[] | undefined {
  const own = merged.overrideCommand === false ? [...(image.config.config?.Entrypoint ?? []), ...(image.config.config?.Cmd ?? [])] : [];
  if (!merged.entrypoints.length && !own.length) return undefined;
  // As the reference implementation starts a container: the entrypoints in turn, then the image's command.
  const script = [...merged.entrypoints.map(({ entrypoint }) => entrypoint), 'exec "$@"'].join('\n');
  return ['/bin/sh', '-c', script, '-', ...own];
}

export function resolveStartSettings(project: ProjectConfig, image: StoredImage, imageName: string): StartSettings {
  const warnings: string[] = [];
  const context = { localWorkspaceFolder: project.root, containerWorkspaceFolder: project.workspaceFolder, localEnv: process.env };
  // Variables in the image's and Features' strings are substituted when they are applied, as in devcontainer.json.
  const entries: OriginEntry[] = [
    ...(project.imageMetadata ? imageEntries(image, imageName, warnings) : []).map(({ origin, entry }) => ({
      origin,
      entry: substituteVariables(entry, context),
    })),
    { origin: project.source.format, entry: project.metadata },
  ];
  const merged = mergeMetadata(entries);
  const imageUser = project.imageMetadata ? image.config.config?.User || 'root' : 'root';
  const containerUser = merged.containerUser ?? imageUser;
  const remoteUser = merged.remoteUser ?? containerUser;
  const where =
    merged.remoteUser !== undefined
      ? describeOrigin(originOf(entries, 'remoteUser'), 'remoteUser', project.source.path)
      : merged.containerUser !== undefined
        ? describeOrigin(originOf(entries, 'containerUser'), 'containerUser', project.source.path)
        : `the USER of image ${imageName}`;
  const account = isRoot(remoteUser) ? undefined : { name: remoteUser.split(':')[0], updateUid: merged.updateRemoteUserUID ?? true, where };

  const imagePorts = forwardedPorts(merged.forwardPorts, warnings);
  const ports = [...project.ports, ...imagePorts.filter((port) => !project.ports.some((own) => own.containerPort === port.containerPort))];
  unsupported(merged, warnings);
  const attributes = portAttributes(merged, warnings);
  const hooks = CONTAINER_HOOKS.flatMap((hook) => merged.hooks[hook].map(({ origin, command }) => ({ hook, origin, command: lifecycleCommand(command) })));
  return {
    ...(account ? { account } : {}),
    containerUser,
    containerEnv: merged.containerEnv,
    remoteEnv: merged.remoteEnv,
    mounts: mergedMounts(project, merged, warnings),
    ports,
    ...(attributes ? { portAttributes: attributes } : {}),
    hooks,
    waitFor: merged.waitFor ?? 'updateContentCommand',
    userEnvProbe: project.imageMetadata ? (merged.userEnvProbe ?? 'loginInteractiveShell') : 'none',
    ...(project.imageMetadata && containerCommand(merged, image) ? { containerCommand: containerCommand(merged, image) } : {}),
    shutdownAction: merged.shutdownAction ?? 'none',
    ...(merged.hostRequirements ? { hostRequirements: merged.hostRequirements } : {}),
    customizations: merged.customizations,
    warnings,
  };
}
