/**
 * The order Features are installed in (containers.dev/implementors/features, "Dependency installation order
 * algorithm"): a graph of hard (dependsOn) and soft (installsAfter, only among Features already to be
 * installed) edges, priorities from overrideFeatureInstallOrder, then rounds: each round takes the Features
 * whose dependencies are all installed, commits those of the highest priority in the spec's stable order,
 * and leaves the rest for later rounds. A round that can take none is a cycle, reported with its path.
 * Pure: the graph is built by the caller.
 */

export interface OrderNode {
  /** Unique among the nodes; how messages name it. */
  key: string;
  /** What installsAfter and overrideFeatureInstallOrder match: REGISTRY/NAMESPACE/ID without version, the
   * resolved path of a local Feature, the URL of a tarball. Several nodes may share one. */
  resource: string;
  /** Other names of the same Feature (its legacyIds, as resources). */
  aliases: string[];
  /** The OCI tag, for the stable order ("oldest to newest", latest last). */
  tag?: string;
  /** Given options, for the stable order. */
  options: Record<string, string | boolean>;
  /** Manifest digest or content digest, the last tie-breaker. */
  digest?: string;
  /** Keys of the nodes this one dependsOn. */
  dependsOn: string[];
  /** Resources it installsAfter. */
  installsAfter: string[];
}

export class FeatureOrderError extends Error {}

function matches(node: OrderNode, resource: string): boolean {
  return node.resource === resource || node.aliases.includes(resource);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Tags from oldest to newest: versions by their numbers, `latest` last. */
function compareTags(a: string | undefined, b: string | undefined): number {
  if (a === b || a === undefined || b === undefined) return 0;
  if (a === 'latest' || b === 'latest') return a === 'latest' ? 1 : -1;
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? -1, pb[i] ?? -1];
    if (Number.isNaN(x) || Number.isNaN(y)) return compareText(a, b);
    if (x !== y) return x - y;
  }
  return 0;
}

/** The spec's "Round Stable Sort". */
export function stableCompare(a: OrderNode, b: OrderNode): number {
  const byResource = compareText(a.resource, b.resource) || compareTags(a.tag, b.tag);
  if (byResource) return byResource;
  const aKeys = Object.keys(a.options).sort();
  const bKeys = Object.keys(b.options).sort();
  if (aKeys.length !== bKeys.length) return bKeys.length - aKeys.length; // more user-defined options first
  for (let i = 0; i < aKeys.length; i++) if (aKeys[i] !== bKeys[i]) return compareText(aKeys[i], bKeys[i]);
  for (const key of aKeys) {
    const c = compareText(String(a.options[key]), String(b.options[key]));
    if (c) return c;
  }
  return compareText(a.digest ?? a.key, b.digest ?? b.key);
}

/** A path of dependencies that leads back to where it started, among `left`. */
function findCycle(left: readonly OrderNode[], requires: (node: OrderNode) => OrderNode[]): string[] {
  const inLeft = new Set(left.map((n) => n.key));
  for (const start of left) {
    const path: OrderNode[] = [];
    const visit = (node: OrderNode): string[] | undefined => {
      const at = path.indexOf(node);
      if (at >= 0) return [...path.slice(at), node].map((n) => n.key);
      path.push(node);
      for (const next of requires(node).filter((n) => inLeft.has(n.key))) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
      path.pop();
      return undefined;
    };
    const cycle = visit(start);
    if (cycle) return cycle;
  }
  return left.map((n) => n.key);
}

/** The install order of `nodes`; `override`: overrideFeatureInstallOrder, as resources (first = installed first). */
export function installOrder(nodes: readonly OrderNode[], override: readonly string[] = []): OrderNode[] {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  for (const resource of override) {
    if (!nodes.some((n) => matches(n, resource))) {
      throw new FeatureOrderError(`overrideFeatureInstallOrder names ${resource}, which is not a Feature of this dev container`);
    }
  }
  const priority = (node: OrderNode) => Math.max(0, ...override.map((resource, i) => (matches(node, resource) ? override.length - i : 0)));
  // Soft edges only to Features that are to be installed anyway.
  const requires = (node: OrderNode): OrderNode[] => [
    ...node.dependsOn.map((key) => byKey.get(key)!),
    ...node.installsAfter.flatMap((resource) => nodes.filter((n) => n !== node && matches(n, resource))),
  ];
  const installed: OrderNode[] = [];
  let worklist = [...nodes];
  while (worklist.length) {
    const round = worklist.filter((node) => requires(node).every((dep) => installed.includes(dep)));
    if (!round.length) {
      throw new FeatureOrderError(`form a cycle of dependencies: ${findCycle(worklist, requires).join(' → ')}`);
    }
    const top = Math.max(...round.map(priority));
    const committed = round.filter((node) => priority(node) === top).sort(stableCompare);
    installed.push(...committed);
    worklist = worklist.filter((node) => !committed.includes(node));
  }
  return installed;
}
