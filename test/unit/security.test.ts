import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { securityFromFlags } from '../../src/cli/security-options.js';
import { DEFAULT_CAPABILITIES, resolveCapabilities } from '../../src/runtime/capabilities.js';
import { checkSeccompProfile, compileSeccomp, type SeccompProfile } from '../../src/runtime/seccomp.js';
import { DEFAULT_SECCOMP_PROFILE } from '../../src/runtime/seccomp-default.js';
import { MASKED_PATHS, processSecurityArgs, READONLY_PATHS, resolveSecurity } from '../../src/runtime/security.js';
import { errorLine } from '../helpers/project.js';

const flags = (over: Partial<Parameters<typeof securityFromFlags>[0]> = {}) => ({ capAdd: [], capDrop: [], securityOpt: [], privileged: false, ...over });

test("capabilities follow Docker's rules: defaults, drop then add, ALL on either side, any spelling", () => {
  assert.equal(resolveCapabilities([], [], false), [...DEFAULT_CAPABILITIES]);
  const tweaked = resolveCapabilities(['net_admin', 'CAP_SYS_PTRACE'], ['chown', 'Cap_Kill'], false);
  assert.ok(tweaked.includes('CAP_NET_ADMIN') && tweaked.includes('CAP_SYS_PTRACE'));
  assert.not.ok(tweaked.includes('CAP_CHOWN') || tweaked.includes('CAP_KILL'));
  assert.equal(resolveCapabilities(['chown', 'NET_RAW'], ['ALL'], false), ['CAP_CHOWN', 'CAP_NET_RAW']);
  const all = resolveCapabilities(['ALL'], ['SYS_ADMIN'], false);
  assert.ok(all.includes('CAP_SYS_MODULE'));
  assert.not.ok(all.includes('CAP_SYS_ADMIN'));
  assert.ok(resolveCapabilities([], [], true).includes('CAP_SYS_ADMIN'));
  assert.throws(() => resolveCapabilities(['NET_WIZARD'], [], false), /--cap-add: unknown capability "NET_WIZARD"/);
  assert.throws(() => resolveCapabilities([], ['CAP_'], false), /--cap-drop: unknown capability "CAP_"/);
});

test('a profile compiles to the rules that apply here: arch map, capabilities, kernel, one rule per alternative', () => {
  const profile: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '99.1' } },
      { name: 'personality', action: 'SCMP_ACT_TRACE', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
          { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
        ],
      },
      {
        names: ['socket'],
        action: 'SCMP_ACT_KILL',
        args: [
          { index: 0, value: 40, op: 'SCMP_CMP_EQ' },
          { index: 2, value: 0xff, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' },
        ],
      },
    ],
  };
  assert.is(
    compileSeccomp(profile, { capabilities: ['CAP_CHOWN'], arch: 'x64', kernel: '6.1.0-13-amd64' }),
    [
      'default errno:1',
      'arch x86_64',
      'arch x86',
      'allow read,write',
      'errno:1 mount',
      'allow arch_prctl',
      'trace:1 personality 0:eq:8:0',
      'allow clone 0:eq:1:0',
      'allow clone 0:eq:2:0',
      'kill_thread socket 0:eq:40:0 2:masked_eq:255:3',
    ].join('\n'),
  );
  const arm = compileSeccomp(profile, { capabilities: ['CAP_SYS_ADMIN'], arch: 'arm64', kernel: '100.0' }).split('\n');
  assert.equal(arm.slice(0, 5), ['default errno:1', 'arch aarch64', 'arch arm', 'allow read,write', 'allow mount']);
  assert.ok(arm.includes('allow ptrace'));
  assert.not.ok(arm.includes('allow arch_prctl'));
  // No arch list: libseccomp's native ABI only.
  assert.is(compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 5 }, { capabilities: [] }), 'default allow');
});

test('the default profile: ENOSYS for the unknown, EPERM for the refused, the native ABI only, capability-gated groups', () => {
  const program = compileSeccomp(DEFAULT_SECCOMP_PROFILE, { capabilities: [...DEFAULT_CAPABILITIES], arch: 'x64', kernel: '6.1' }).split('\n');
  assert.equal(program.slice(0, 2), ['default errno:38', 'arch x86_64']);
  const rule = (name: string) => program.filter((l) => l.split(' ')[1].split(',').includes(name));
  assert.equal(rule('keyctl'), [
    'errno:1 keyctl,add_key,request_key,kexec_load,kexec_file_load,userfaultfd,swapon,swapoff,nfsservctl,uselib,ustat,sysfs,_sysctl,bdflush,vm86,vm86old,create_module,get_kernel_syms,query_module,pciconfig_iobase,pciconfig_read,pciconfig_write',
  ]);
  assert.equal(
    rule('mount').map((l) => l.split(' ')[0]),
    ['errno:1'],
  );
  assert.equal(
    rule('chroot').map((l) => l.split(' ')[0]),
    ['allow'],
  ); // CAP_SYS_CHROOT is a default capability
  assert.equal(rule('clone3'), []); // ENOSYS: C libraries fall back to clone
  assert.ok(rule('clone').includes('allow clone 0:masked_eq:2114060288:0'));
  assert.ok(rule('clone').includes('errno:1 clone 0:masked_eq:268435456:268435456')); // CLONE_NEWUSER
  assert.ok(rule('read')[0].startsWith('allow '));
  const admin = compileSeccomp(DEFAULT_SECCOMP_PROFILE, { capabilities: ['CAP_SYS_ADMIN'], arch: 'x64', kernel: '6.1' }).split('\n');
  const adminRule = (name: string) => admin.filter((l) => l.split(' ')[1].split(',').includes(name));
  assert.equal(
    adminRule('mount').map((l) => l.split(' ')[0]),
    ['allow'],
  );
  assert.equal(adminRule('clone'), ['allow clone']);
  assert.equal(
    adminRule('chroot').map((l) => l.split(' ')[0]),
    ['errno:1'],
  );
  assert.is(checkSeccompProfile(DEFAULT_SECCOMP_PROFILE), undefined);
});

test("podman's own default profile (containers-common) is read as it is", () => {
  const profile = JSON.parse(readFileSync('/usr/share/containers/seccomp.json', 'utf8')) as SeccompProfile;
  assert.is(checkSeccompProfile(profile), undefined);
  const program = compileSeccomp(profile, { capabilities: [...DEFAULT_CAPABILITIES], arch: 'x64', kernel: '6.1' }).split('\n');
  assert.equal(program.slice(0, 4), ['default errno:38', 'arch x86_64', 'arch x86', 'arch x32']);
  assert.ok(program.some((l) => l.startsWith('allow ') && l.split(' ')[1].split(',').includes('keyctl')));
});

test('a profile that cannot be compiled says where and what', () => {
  const problem = (value: unknown) => checkSeccompProfile(value);
  assert.equal(problem([]), { path: [], message: 'a seccomp profile is a JSON object with "defaultAction"' });
  assert.equal(problem({ syscalls: [] }), { path: [], message: 'a seccomp profile needs "defaultAction"' });
  assert.equal(problem({ defaultAction: 'SCMP_ACT_NOTIFY' }), {
    path: ['defaultAction'],
    message: 'SCMP_ACT_NOTIFY needs a seccomp agent, which devbox does not run',
  });
  assert.equal(problem({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'x86'] }), {
    path: ['architectures', 1],
    message: 'unknown architecture "x86"',
  });
  assert.equal(problem({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] }), {
    path: ['syscalls', 0],
    message: 'needs "names": a list of system call names',
  });
  assert.equal(problem({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read write'], action: 'SCMP_ACT_ALLOW' }] })?.path, ['syscalls', 0, 'names']);
  assert.equal(problem({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: -1 }] })?.path, [
    'syscalls',
    0,
    'errnoRet',
  ]);
  const arg = (a: object) => problem({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [a] }] })?.path;
  assert.equal(arg({ index: 6, value: 0, op: 'SCMP_CMP_EQ' }), ['syscalls', 0, 'args', 0, 'index']);
  assert.equal(arg({ index: 0, value: 2 ** 64, op: 'SCMP_CMP_EQ' }), ['syscalls', 0, 'args', 0, 'value']);
  assert.equal(arg({ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }), ['syscalls', 0, 'args', 0, 'op']);
  assert.equal(problem({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'] }), { path: ['flags'], message: 'is not supported by devbox' });
});

test('--security-opt: seccomp, systempaths, unmask, mask, no-new-privileges, and one line for what devbox cannot do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'security-opt-'));
  try {
    const profile = join(dir, 'p.json');
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_LOG' }));
    assert.is(securityFromFlags(flags({ securityOpt: [`seccomp=${profile}`] })).seccomp, 'default log');
    assert.is(securityFromFlags(flags({ securityOpt: ['seccomp:unconfined'] })).seccomp, undefined);
    const defaults = resolveSecurity();
    assert.equal(defaults.maskedPaths, [...MASKED_PATHS]);
    assert.equal(defaults.readonlyPaths, [...READONLY_PATHS]);
    assert.is(
      securityFromFlags(flags({ securityOpt: ['seccomp=builtin', 'no-new-privileges', 'no-new-privileges=true', 'label=disable'] })).seccomp,
      defaults.seccomp,
    );
    const open = securityFromFlags(flags({ securityOpt: ['systempaths=unconfined', 'mask=/etc/secret'] }));
    assert.equal([open.maskedPaths, open.readonlyPaths], [['/etc/secret'], []]);
    const some = securityFromFlags(flags({ securityOpt: ['unmask=/proc/keys:/proc/sys'] }));
    assert.not.ok(some.maskedPaths.includes('/proc/keys'));
    assert.not.ok(some.readonlyPaths.includes('/proc/sys'));
    assert.ok(some.maskedPaths.includes('/proc/kcore'));
    const line = (securityOpt: string[]) => errorLine(() => securityFromFlags(flags({ securityOpt })));
    assert.is(
      await line(['no-new-privileges=false']),
      '--security-opt no-new-privileges=false: devbox always sets no_new_privs (setuid and file capabilities never raise privileges inside)',
    );
    assert.match(await line(['unmask=/proc/cpuinfo']), /^--security-opt unmask: \/proc\/cpuinfo is not masked or read-only \(ALL, or some of \/proc\/acpi /);
    assert.match(await line(['apparmor=docker-default']), /^--security-opt apparmor=docker-default: devbox loads no AppArmor profiles/);
    assert.match(await line(['seccomp']), /^--security-opt: invalid option "seccomp"/);
    const missing = join(dir, 'missing.json');
    assert.is(
      await line([`seccomp=${missing}`]),
      `--security-opt seccomp=${missing}: no profile file at ${missing} (give the path of a seccomp profile in JSON (Docker's format), or seccomp=unconfined)`,
    );
    writeFileSync(profile, '{"defaultAction": "SCMP_ACT_ALLOW",\n "defaultErrnoRet": "1"}');
    assert.is(
      await line([`seccomp=${profile}`]),
      `${profile}:2:21: "defaultErrnoRet" must be an errno number from 0 to 4095 (a profile is in Docker's format: see docs/security.md)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the seccomp cache is the directory given, only with a filter (the helper names its files)', () => {
  const confined = resolveSecurity();
  const args = processSecurityArgs(confined, '/store/seccomp');
  assert.equal(args.slice(args.indexOf('--seccomp')), ['--seccomp', confined.seccomp, '--seccomp-cache', '/store/seccomp']);
  assert.not.ok(processSecurityArgs(confined).includes('--seccomp-cache'));
  assert.not.ok(processSecurityArgs(resolveSecurity({ seccomp: 'unconfined' }), '/store/seccomp').includes('--seccomp-cache'));
});

test.run();
