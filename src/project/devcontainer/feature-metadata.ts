/**
 * A Feature's devcontainer-feature.json (containers.dev/implementors/features, "devcontainer-feature.json
 * properties"): its id, options, dependencies, and what it contributes to the container (containerEnv,
 * mounts, entrypoint, lifecycle commands, …). Checked like a config file, with file:line:col in errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../config-file.js';
import { checkedObject } from '../normalize.js';
import { devboxSchema } from '../package-files.js';
import type { JsonSchema } from '../schema-validate.js';
import { DevboxError, describeError } from '../../util/errors.js';
import type { FeatureOptionValue } from './feature-request.js';
import { CONTAINER_HOOKS, METADATA_PROPERTIES, type MetadataEntry } from './metadata.js';

export const FEATURE_FILE = 'devcontainer-feature.json';

export interface FeatureOption {
  type: 'boolean' | 'string';
  /** The only values allowed. */
  enum?: string[];
  /** Suggested values; others are allowed. */
  proposals?: string[];
  default?: FeatureOptionValue;
  description?: string;
}

/** What of a Feature's metadata the image's devcontainer.metadata label records (the spec's list). */
export const LABEL_PROPERTIES = [...CONTAINER_HOOKS, 'init', 'privileged', 'capAdd', 'securityOpt', 'entrypoint', 'mounts', 'customizations'] as const;

export interface FeatureMetadata extends Pick<MetadataEntry, (typeof LABEL_PROPERTIES)[number] | 'containerEnv'> {
  id: string;
  version?: string;
  name?: string;
  description?: string;
  documentationURL?: string;
  options?: Record<string, FeatureOption>;
  dependsOn?: Record<string, Record<string, FeatureOptionValue> | string>;
  installsAfter?: string[];
  legacyIds?: string[];
  deprecated?: boolean;
}

function featureSchema(): JsonSchema {
  const pick = (keys: readonly (keyof MetadataEntry)[]) => Object.fromEntries(keys.map((key) => [key, METADATA_PROPERTIES[key]]));
  return {
    $defs: devboxSchema().$defs,
    type: 'object',
    required: ['id'],
    properties: {
      // The id names the Feature's folder in the build: nothing that could be a path.
      id: { type: 'string', pattern: '^[a-zA-Z0-9_.-]+$', patternErrorMessage: 'letters, digits, ".", "_" and "-"' },
      version: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      documentationURL: { type: 'string' },
      options: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          required: ['type'],
          properties: {
            type: { enum: ['boolean', 'string'] },
            enum: { type: 'array', items: { type: 'string' } },
            proposals: { type: 'array', items: { type: 'string' } },
            default: { type: ['string', 'boolean'] },
            description: { type: 'string' },
          },
        },
      },
      dependsOn: {
        type: 'object',
        additionalProperties: { anyOf: [{ type: 'object', additionalProperties: { type: ['string', 'boolean'] } }, { type: 'string' }] },
      },
      installsAfter: { type: 'array', items: { type: 'string' } },
      legacyIds: { type: 'array', items: { type: 'string' } },
      deprecated: { type: 'boolean' },
      ...pick([...LABEL_PROPERTIES, 'containerEnv']),
    },
  };
}

/** The Feature's devcontainer-feature.json from its folder; `label` names the Feature in errors. */
export function readFeatureMetadata(dir: string, label: string): FeatureMetadata {
  const path = join(dir, FEATURE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DevboxError(`Feature ${label} has no readable ${FEATURE_FILE} (${describeError(error)})`, {
      fix: 'a Feature is a folder with devcontainer-feature.json and install.sh',
    });
  }
  try {
    return checkedObject(parseConfigText(path, text), featureSchema()) as unknown as FeatureMetadata;
  } catch (error) {
    if (!(error instanceof DevboxError)) throw error;
    throw new DevboxError(`Feature ${label}: ${error.message}`, { fix: error.fix, cause: error });
  }
}
