import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { promptHidden, promptLine } from '../cli/prompt.js';
import { DEFAULT_REGISTRY } from '../image/reference.js';
import { login, registryHost } from '../registry/login.js';
import { DevboxError } from '../util/errors.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export default class Login extends DevboxCommand {
  static summary = 'Log in to a registry: check the credentials and store them for pull and push';
  static description =
    'Credentials are saved in $XDG_CONFIG_HOME/devbox/auth.json (mode 0600). Credentials that docker login or podman login stored are used too, without logging in again.';
  static examples = [
    '<%= config.bin %> login registry.example.com',
    'echo "$TOKEN" | <%= config.bin %> login -u ci --password-stdin registry.example.com:5000',
  ];
  static args = { registry: Args.string({ description: `registry host[:port] (default: ${DEFAULT_REGISTRY})` }) };
  static flags = {
    username: Flags.string({ char: 'u', description: 'user name' }),
    password: Flags.string({ char: 'p', description: 'password (visible in the process list: prefer --password-stdin)' }),
    'password-stdin': Flags.boolean({ description: 'read the password from stdin' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Login);
    const host = registryHost(args.registry ?? DEFAULT_REGISTRY);
    if (flags.password && flags['password-stdin']) throw new DevboxError('--password and --password-stdin are mutually exclusive');
    const interactive = process.stdin.isTTY === true;
    if (flags['password-stdin'] && !flags.username) throw new DevboxError('--password-stdin needs --username', { fix: 'add -u USER' });
    if (flags.password) this.warn('using --password on the command line is insecure: use --password-stdin');
    const username = flags.username ?? (interactive ? await promptLine('Username: ') : '');
    const password = flags['password-stdin'] ? await readStdin() : (flags.password ?? (interactive ? await promptHidden('Password: ') : ''));
    if (!username || !password)
      throw new DevboxError(`no ${username ? 'password' : 'user name'} given for ${host}`, { fix: 'use -u USER and --password-stdin' });
    await login(host, username, password);
    this.log('Login Succeeded!');
  }
}
