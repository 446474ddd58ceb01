/** What the builder and the step planners share: a stage's state and the plan of one step. */
import type { ContainerConfig, Descriptor, ImageConfig } from '../image/oci.js';
import type { LayerTarResult } from './layer-tar.js';
import type { StepWorkspace } from './workspace.js';

/** The image one stage builds, as it stands after each step, and what its instructions see. */
export interface StageState {
  /** The cache key of the last step. */
  key: string;
  config: ImageConfig;
  layers: Descriptor[];
  /** Variables for expansion and RUN: the image's ENV and the ARGs declared so far. */
  env: Map<string, string>;
  /** CMD set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

/**
 * A layer tar a step wrote into its workspace; `dir`: the directory it was made from, which the store may take
 * as the unpacked layer when the result has a `layerRecord` (a kernel overlay's upper directory).
 */
export type LayerTar = { path: string; dir?: string } & LayerTarResult;

/** One step: what its cache key is made of, its history line, and what it does when it is not cached. */
export interface StepPlan {
  describe: unknown;
  history: string;
  /** Changes the image config (a copy: the cached state is never touched). */
  edit?: (config: ContainerConfig, image: ImageConfig) => void;
  /** For steps that change files: writes their changes as a layer tar (undefined: no change). */
  produce?: (workspace: StepWorkspace, lowerDirs: string[]) => Promise<LayerTar | undefined>;
  /** Runs once the step is over, cached or not (removes what planning downloaded). */
  cleanup?: () => Promise<void>;
}

/** KEY=value entries as a map (later entries win). */
export function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    map.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
  }
  return map;
}
