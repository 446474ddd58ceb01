/**
 * Dev Containers variable substitution (containers.dev/implementors/json_reference, "Variables in
 * devcontainer.json"), used for devbox.json too so one syntax serves both files:
 *   ${localEnv:VAR}, ${localEnv:VAR:default}, ${env:VAR} (older spelling), ${localWorkspaceFolder},
 *   ${localWorkspaceFolderBasename}, ${containerWorkspaceFolder}, ${containerWorkspaceFolderBasename},
 *   ${devcontainerId}.
 * ${containerEnv:VAR} is left in place: only the image knows it (the entry environment answers it).
 * Unknown variables are left as written, as the reference implementation does.
 */
import { basename } from 'node:path';
import { projectKey } from '../sandbox/live-state.js';

export interface SubstitutionContext {
  localWorkspaceFolder: string;
  containerWorkspaceFolder: string;
  /** The host environment ${localEnv:VAR} reads. */
  localEnv: NodeJS.ProcessEnv;
}

const VARIABLE = /\$\{([A-Za-z]+)(?::([^}:]*)(?::([^}]*))?)?\}/g;

export function substituteString(text: string, context: SubstitutionContext): string {
  return text.replace(VARIABLE, (whole, name: string, argument?: string, fallback?: string) => {
    switch (name) {
      case 'localEnv':
      case 'env':
        return argument ? (context.localEnv[argument] ?? fallback ?? '') : whole;
      case 'localWorkspaceFolder':
        return context.localWorkspaceFolder;
      case 'localWorkspaceFolderBasename':
        return basename(context.localWorkspaceFolder);
      case 'containerWorkspaceFolder':
        return context.containerWorkspaceFolder;
      case 'containerWorkspaceFolderBasename':
        return basename(context.containerWorkspaceFolder);
      case 'devcontainerId':
        return projectKey(context.localWorkspaceFolder);
      default:
        return whole;
    }
  });
}

/** Substitutes in every string of a JSON value (keys are left alone, as in the reference implementation). */
export function substituteVariables<T>(value: T, context: SubstitutionContext): T {
  if (typeof value === 'string') return substituteString(value, context) as T;
  if (Array.isArray(value)) return value.map((item) => substituteVariables(item, context)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteVariables(item, context)])) as T;
  }
  return value;
}
