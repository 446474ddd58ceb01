/** `devbox services`: the services of the project around the current folder, and taking them down beside its sandbox. */
import { servicesDown } from '../compose/services.js';
import { DevboxError } from '../util/errors.js';
import { loadProject } from './load.js';
import type { ProjectConfig, ProjectServices } from './project-config.js';

export function projectWithServices(cwd = process.cwd()): { project: ProjectConfig; services: ProjectServices } {
  const project = loadProject(cwd);
  if (!project.services) {
    const fix =
      project.source.format === 'devbox.json' ? 'add a "services" section to it (docs/project-config.md)' : 'name a Compose file with "dockerComposeFile"';
    throw new DevboxError(`${project.source.path} has no services`, { fix });
  }
  return { project, services: project.services };
}

/** Removes the services' containers; their network stays while the project's sandbox is up on it (a user of it). */
export function takeDownServices(project: ProjectConfig): Promise<string[]> {
  return servicesDown({ project: project.root });
}
