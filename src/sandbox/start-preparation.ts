/**
 * What every start of a sandbox does before the helper runs, for a container (container-start.ts) and for a
 * project's live sandbox (live-sandbox.ts) alike: slirp4netns looked up, the image's layers for the sandbox's id
 * map, the name files bound over /etc, the ports and addresses of an earlier start dropped, and the root file system over
 * the layers.
 */
import { join } from 'node:path';
import { customizesResolver, extraHostsEntries, hostResolvConf, hostResolvConfWith, networkHostsEntries, slirpResolvConf } from '../network/dns.js';
import type { NetworkOptions } from '../network/options.js';
import { prepareOutbound, type OutboundSetup } from '../network/sandbox-network.js';
import type { ImageStore, StoredImage } from '../image/store.js';
import type { RootfsSpec } from '../runtime/spec.js';
import type { StorageDriver } from '../storage/driver.js';
import type { IdMapping } from '../userns/idmap.js';
import { clearStartRecords, type NameFiles, writeNameFiles } from './containers.js';
import { assembleRootfs } from './rootfs.js';

export interface StartPreparationRequest {
  image: StoredImage;
  /** The sandbox's directory: its writable layer, name files and state. */
  dir: string;
  mapping: IdMapping;
  driver: StorageDriver;
  hostname: string;
  network: NetworkOptions;
  /** For the error when slirp4netns is missing: how to run without it. */
  withoutSlirp4netns?: string;
}

export interface StartPreparation {
  /** Present on the slirp4netns network: attached between the namespaces' creation and the start. */
  slirp?: OutboundSetup;
  lowerDirs: string[];
  rootfs: RootfsSpec;
  names: NameFiles;
}

/**
 * /etc/resolv.conf: slirp4netns's resolver; on a devbox network none yet (written when the network is joined);
 * else the host's, rewritten only when --dns and the like change it (undefined: the host's file is bound).
 */
function resolvConfFor(network: NetworkOptions, slirp: boolean): string | undefined {
  const given = network.names;
  if (slirp) return slirpResolvConf(hostResolvConf(), given);
  if (network.networks?.length || network.shareWith) return '';
  return given && customizesResolver(given) ? hostResolvConfWith(hostResolvConf(), given) : undefined;
}

export async function prepareStart(store: ImageStore, request: StartPreparationRequest): Promise<StartPreparation> {
  const { dir, network, hostname } = request;
  const slirp =
    network.mode === 'slirp4netns' ? await prepareOutbound(network.backend, join(store.root, 'slirp4netns.json'), request.withoutSlirp4netns) : undefined;
  const lowerDirs = await store.layerDirs(request.image, request.mapping);
  const hosts = [...networkHostsEntries(network, hostname), ...extraHostsEntries(network.names?.extraHosts ?? [])];
  const names = writeNameFiles(dir, hostname, hosts, resolvConfFor(network, slirp !== undefined));
  clearStartRecords(dir);
  const rootfs = await assembleRootfs(request.driver, request.mapping, lowerDirs, dir);
  return { slirp, lowerDirs, rootfs, names };
}
