/**
 * The proxy a machine behind a corporate proxy reaches the network through, as builds and sandboxes get it:
 * Docker's `proxies.default` in ~/.docker/config.json (`httpProxy`, `httpsProxy`, `noProxy`, `ftpProxy`,
 * `allProxy`, which docker passes to builds and containers as both spellings of each variable), then the
 * host's own HTTP_PROXY, https_proxy, … variables, which win (podman's default, --http-proxy=true).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const DOCKER_KEYS: Record<string, string> = {
  httpProxy: 'HTTP_PROXY',
  httpsProxy: 'HTTPS_PROXY',
  ftpProxy: 'FTP_PROXY',
  noProxy: 'NO_PROXY',
  allProxy: 'ALL_PROXY',
};

/** Every proxy variable, in both spellings (tools read one or the other). */
export const PROXY_VARIABLES = Object.values(DOCKER_KEYS).flatMap((name) => [name, name.toLowerCase()]);

function dockerProxies(path: string): Record<string, string> {
  let config: { proxies?: { default?: Record<string, unknown> } };
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {}; // no file, or one docker itself would refuse: no proxies from it
  }
  const proxies: Record<string, string> = {};
  for (const [key, value] of Object.entries(config?.proxies?.default ?? {})) {
    const name = DOCKER_KEYS[key];
    if (name && typeof value === 'string' && value) {
      proxies[name] = value;
      proxies[name.toLowerCase()] = value;
    }
  }
  return proxies;
}

/** Docker's client config, where its proxies are read from. */
export function dockerConfigPath(hostEnv: NodeJS.ProcessEnv = process.env): string {
  return join(hostEnv.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

export function proxyEnvironment(hostEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const proxies = dockerProxies(dockerConfigPath(hostEnv));
  for (const name of PROXY_VARIABLES) {
    const value = hostEnv[name];
    if (value) proxies[name] = value;
  }
  return proxies;
}
