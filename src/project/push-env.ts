/**
 * `devbox push-env [REPOSITORY]`: the project's environment image (built first when these inputs have none)
 * pushed as REPOSITORY:<inputs hash, 12 hex digits>, REPOSITORY defaulting to devbox.json's "envImage".
 */
import { pushImage, type PushOptions, type PushResult } from '../registry/push.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { environmentRepository, sharedEnvironmentName } from './env-image.js';
import { projectImage } from './environment.js';
import { loadProject } from './load.js';

export async function pushProjectEnvironment(repository: string | undefined, options: PushOptions = {}, cwd = process.cwd()): Promise<PushResult> {
  const project = loadProject(cwd);
  const target = repository ?? project.envImage;
  if (target === undefined) {
    throw new DevboxError(`${project.source.path} names no registry repository for the environment`, {
      fix: 'give one (devbox push-env REGISTRY/NAME) or set "envImage" in devbox.json',
    });
  }
  if (project.environment.kind === 'image') {
    throw new DevboxError(`the project uses the image ${project.environment.image} as it is: there is no built environment to push`, {
      fix: 'teammates pull that image themselves',
    });
  }
  const destination = environmentRepository(target, repository === undefined ? `${project.source.path}: "envImage"` : 'devbox push-env:');
  const { store, image, inputsHash } = await projectImage(project, readSettings());
  return pushImage(store, image.id, sharedEnvironmentName(destination, inputsHash), options);
}
