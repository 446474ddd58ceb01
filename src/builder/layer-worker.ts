/**
 * Runs as root of the user namespace, where a build step's files and the image's layers can be read and
 * written with their real ownership: `node layer-worker.js` with a request (JSON) on stdin.
 *   diff   — an overlay upper directory after a RUN → layer tar (layer-tar.ts)
 *   stage  — COPY/ADD/WORKDIR actions into a staging directory (fs-actions.ts) → layer tar
 *   mkdirs — directories for RUN --mount=type=cache, owned as asked
 * Prints the result as JSON; any failure is one line on stderr and exit status 1.
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { applyFsOps, readXattrs } from '../runtime/fsops.js';
import { describeError } from '../util/errors.js';
import { StagingWriter, type FsAction, type Owner } from './fs-actions.js';
import { cleanPath, LayerView } from '../image/layer-view.js';
import { writeLayerTar, type LayerTarResult } from './layer-tar.js';

export type LayerWorkerRequest =
  | { op: 'diff'; dir: string; out: string; owner: Owner; lowers: string[]; mountPoints: string[] }
  | { op: 'stage'; staging: string; scratch: string; out: string; owner: Owner; lowers: string[]; actions: FsAction[] }
  | { op: 'mkdirs'; dirs: { path: string; owner: Owner; mode: number }[] };

/** Mount points (and their parents) the image did not have: what the sandbox created only to mount on. */
function mountStubs(lowers: readonly string[], mountPoints: readonly string[]): Set<string> {
  const view = LayerView.ofLayerDirs(lowers);
  const stubs = new Set<string>();
  for (const point of mountPoints) {
    let prefix = '';
    for (const part of cleanPath(point).split('/')) {
      prefix = prefix ? `${prefix}/${part}` : part;
      if (!view.lookup(prefix)) stubs.add(prefix);
    }
  }
  return stubs;
}

async function handle(request: LayerWorkerRequest): Promise<LayerTarResult | null> {
  switch (request.op) {
    case 'diff': {
      const result = await writeLayerTar({ dir: request.dir, out: request.out, mountStubs: mountStubs(request.lowers, request.mountPoints), readXattrs });
      chownSync(request.out, request.owner.uid, request.owner.gid);
      return result;
    }
    case 'stage': {
      const writer = new StagingWriter(request.lowers, request.staging, request.scratch, applyFsOps);
      for (const action of request.actions) await writer.apply(action);
      await writer.finish();
      const result = await writeLayerTar({ dir: request.staging, out: request.out, readXattrs });
      chownSync(request.out, request.owner.uid, request.owner.gid);
      return result;
    }
    case 'mkdirs':
      for (const dir of request.dirs) {
        if (existsSync(dir.path)) continue;
        mkdirSync(dir.path, { recursive: true });
        chownSync(dir.path, dir.owner.uid, dir.owner.gid);
        chmodSync(dir.path, dir.mode);
      }
      return null;
  }
}

try {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const result = await handle(JSON.parse(Buffer.concat(chunks).toString('utf8')) as LayerWorkerRequest);
  process.stdout.write(JSON.stringify(result));
} catch (error) {
  process.stderr.write(`${describeError(error)}\n`);
  process.exitCode = 1;
}
