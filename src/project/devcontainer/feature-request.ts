/** A Feature as devcontainer.json names it: `"features": { ID: OPTIONS }`, before anything is fetched. */

/** An option value as devcontainer.json gives it (the spec's types: string or boolean). */
export type FeatureOptionValue = string | boolean;

export interface FeatureRequest {
  /** The key as written: an OCI reference, `./path` or an https:// tarball URL. */
  id: string;
  /** The value: an object of options, or a string (the `version` option's shorthand). */
  options: Record<string, FeatureOptionValue> | string;
}

/** The requests of a `features` object, in the file's order (the spec's shorthand forms kept as written). */
export function featureRequests(features: Record<string, Record<string, FeatureOptionValue> | string | boolean> | undefined): FeatureRequest[] {
  return Object.entries(features ?? {}).map(([id, value]) => ({
    id,
    // `true` is the old "install with defaults" form the reference implementation still accepts.
    options: typeof value === 'boolean' ? {} : value,
  }));
}
