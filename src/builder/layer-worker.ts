/**
 * Runs as root of the user namespace, where a build step's files and the image's layers can be read and
 * written with their real ownership: `node layer-worker.js` with a request (JSON) on stdin.
 *   diff   — an overlay upper directory after a RUN → layer tar (layer-tar.ts)
 *   stage  — COPY/ADD/WORKDIR actions into a staging directory (fs-actions.ts) → layer tar, and the
 *            directory's record when the store can take it as the unpacked layer
 *   mkdirs — directories for RUN --mount=type=cache, owned as asked
 *   changes — an overlay upper directory as Docker's A/C/D list (devbox diff)
 * Prints the result as JSON; any failure is one line on stderr and exit status 1.
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { applyFsOps, readXattrs } from '../runtime/fsops.js';
import { describeError } from '../util/errors.js';
import { StagingWriter, type FsAction, type Owner } from './fs-actions.js';
import { mountStubs } from '../image/layer-view.js';
import { listChanges, type Change } from './layer-changes.js';
import { writeLayerTar, type LayerTarResult } from './layer-tar.js';
import type { IdMapping } from '../userns/idmap.js';

export type LayerWorkerRequest =
  | { op: 'diff'; dir: string; out: string; owner: Owner; lowers: string[]; mountPoints: string[]; asLayer?: boolean }
  | { op: 'stage'; staging: string; scratch: string; out: string; owner: Owner; lowers: string[]; actions: FsAction[]; mapping: IdMapping }
  | { op: 'mkdirs'; dirs: { path: string; owner: Owner; mode: number }[] }
  | { op: 'changes'; dir: string; lowers: string[]; mountPoints: string[] };

async function handle(request: LayerWorkerRequest): Promise<LayerTarResult | Change[] | null> {
  switch (request.op) {
    case 'diff': {
      const stubs = mountStubs(request.lowers, request.mountPoints);
      const result = await writeLayerTar({ dir: request.dir, out: request.out, mountStubs: stubs, readXattrs, asLayer: request.asLayer });
      chownSync(request.out, request.owner.uid, request.owner.gid);
      // The store moves the directory into place as the user (a rename rewrites its ".."): the user owns the
      // root of an unpacked layer anyway, which no tar entry names.
      if (result.layerRecord) chownSync(request.dir, request.owner.uid, request.owner.gid);
      return result;
    }
    case 'stage': {
      const writer = new StagingWriter(request.lowers, request.staging, request.scratch, applyFsOps, readXattrs, request.mapping);
      for (const action of request.actions) await writer.apply(action);
      await writer.finish();
      // Nothing in a staging directory is an overlay's: it can become the unpacked layer as it is.
      const result = await writeLayerTar({ dir: request.staging, out: request.out, readXattrs, asLayer: true });
      chownSync(request.out, request.owner.uid, request.owner.gid);
      if (result.layerRecord) chownSync(request.staging, request.owner.uid, request.owner.gid);
      return result;
    }
    case 'changes':
      return listChanges(request.dir, request.lowers, mountStubs(request.lowers, request.mountPoints), readXattrs);
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
