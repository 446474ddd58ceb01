/** Network names, apart from the records: `devbox run --network NAME` checks one without loading the store's code. */
import { usageError } from '../util/errors.js';

/** A container's place on a network, in its record: the network's name and the extra names it answers to there. */
export interface NetworkAttachment {
  name: string;
  aliases: string[];
}

/** Docker's rule for network names. */
export function validateNetworkName(name: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > 128) {
    throw usageError(`invalid network name "${name}"`, 'use letters, digits, "_", "." and "-", starting with a letter or digit');
  }
  return name;
}
