import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { bridgeResolvConf, extraHostsEntries, hostResolvConfWith, networkHostsEntries, resolveNameOptions, slirpResolvConf } from '../../src/network/dns.js';
import { parseNetwork, resolveNetworkOptions } from '../../src/network/options.js';
import { formatPortMapping, parsePortMapping } from '../../src/network/port-mapping.js';
import { parseFeatures, slirp4netnsArgs } from '../../src/network/slirp4netns.js';
import { pastaArgs } from '../../src/network/pasta.js';
import { defaultSettings, settingValue, validateSetting } from '../../src/settings/settings.js';
import { DevboxError } from '../../src/util/errors.js';
import { thrownBy } from '../helpers/errors.js';

const settings = defaultSettings();

test("-p takes docker's forms; the host address defaults to 127.0.0.1 and the protocol to tcp", () => {
  assert.equal(parsePortMapping('[::1]:8080:80'), { hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' });
  assert.equal(parsePortMapping('[::]::80'), { hostIp: '::', hostPort: 0, containerPort: 80, protocol: 'tcp' });
  assert.is(formatPortMapping(parsePortMapping('[::1]:8080:80')), '[::1]:8080->80/tcp');
  assert.equal(parsePortMapping('8080:80'), { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' });
  assert.equal(parsePortMapping('0.0.0.0:5353:53/udp'), { hostIp: '0.0.0.0', hostPort: 5353, containerPort: 53, protocol: 'udp' });
  assert.equal(parsePortMapping(':3000:3000'), { hostIp: '127.0.0.1', hostPort: 3000, containerPort: 3000, protocol: 'tcp' });
  assert.is(formatPortMapping(parsePortMapping('192.168.1.2:443:8443/tcp')), '192.168.1.2:443->8443/tcp');
  // Without a host port: a free one, picked when the container starts (0 until then).
  assert.equal(parsePortMapping('80'), { hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' });
  assert.equal(parsePortMapping('0.0.0.0::53/udp'), { hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, protocol: 'udp' });
  assert.is(resolveNetworkOptions({ publish: ['80', '80'] }, settings).publish.length, 2, 'two free ports never clash');
});

for (const [spec, reason] of [
  ['', /container port "" is not a port number/],
  ['0:80', /host port "0" is not a port number/],
  ['8080:65536', /container port "65536"/],
  ['8080:80/', /protocol "" is not tcp or udp/],
  ['8080:80/tcp/udp', /container port "80\/tcp"/],
  ['1.2.3:8080:80', /host address "1.2.3" is not an IPv4 address/],
  ['[::1]:5353:53/udp', /UDP ports are published on IPv4 host addresses only/],
  ['[1.2.3.4]:8080:80', /host address "\[1\.2\.3\.4\]" is not an IPv6 address/],
  ['+80:80', /host port "\+80"/],
] as const) {
  test(`-p "${spec}" is refused with the expected form`, () => {
    const error = thrownBy(() => parsePortMapping(spec));
    assert.instance(error, DevboxError);
    assert.match((error as DevboxError).toLine(), reason);
    assert.match((error as DevboxError).toLine(), /expected \[HOSTIP:\]\[HOSTPORT:\]PORT\[\/tcp\|udp\]/);
    assert.is((error as DevboxError).kind, 'usage');
  });
}

test("--network: the three modes, slirp as an alias, pasta for the isolated network through pasta, Podman's allow_host_loopback option", () => {
  assert.equal(parseNetwork('host'), { mode: 'host' });
  assert.equal(parseNetwork('none'), { mode: 'none' });
  assert.equal(parseNetwork('slirp'), { mode: 'slirp4netns', backend: 'slirp4netns' });
  assert.equal(parseNetwork('slirp4netns:allow_host_loopback=true'), { mode: 'slirp4netns', backend: 'slirp4netns', allowHostLoopback: true });
  assert.equal(parseNetwork('pasta'), { mode: 'slirp4netns', backend: 'pasta' });
  assert.throws(() => parseNetwork('pasta:-T,auto'), /devbox passes no options to pasta/);
  assert.is(resolveNetworkOptions({ network: 'pasta', publish: ['8080:80'] }, settings).backend, 'pasta');
  assert.is(resolveNetworkOptions({}, settings).backend, undefined, "without --network: the setting's, chosen at start");
  assert.throws(() => parseNetwork('bridge'), /unknown network "bridge"/);
  assert.throws(() => parseNetwork('host:x=1'), /network "host" takes no options/);
  assert.throws(() => parseNetwork('slirp4netns:mtu=1500'), /unsupported slirp4netns option "mtu=1500"/);
});

test('network options: flags over settings; ports only with slirp4netns, each host port once', () => {
  assert.equal(resolveNetworkOptions({}, settings), { mode: 'slirp4netns', publish: [], autoForward: true, allowHostLoopback: false });
  assert.equal(resolveNetworkOptions({ network: 'slirp:allow_host_loopback=false' }, { ...settings, allowHostLoopback: true }).allowHostLoopback, false);
  assert.is(resolveNetworkOptions({}, { ...settings, network: 'host' }).mode, 'host');
  assert.is(resolveNetworkOptions({ publish: ['8080:80', '8081:80'] }, settings).publish.length, 2);
  assert.is(resolveNetworkOptions({ publish: ['8080:80', '8080:80/udp'] }, settings).publish.length, 2);
  assert.throws(() => resolveNetworkOptions({ network: 'host', publish: ['8080:80'] }, settings), /cannot publish ports with network "host"/);
  assert.throws(() => resolveNetworkOptions({ publish: ['8080:80'] }, { ...settings, network: 'none' }), /cannot publish ports with network "none"/);
  assert.throws(() => resolveNetworkOptions({ publish: ['8080:80', '127.0.0.1:8080:81'] }, settings), /host port 8080\/tcp is published twice/);
  assert.throws(() => resolveNetworkOptions({ publish: ['0.0.0.0:8080:80', '10.1.1.1:8080:81'] }, settings), /published twice/);
});

test('settings: network, autoForward and allowHostLoopback are checked and typed', () => {
  assert.is(validateSetting('network', 'slirp4netns'), undefined);
  assert.is(validateSetting('network', 'slirp'), 'one of slirp4netns, host, none');
  assert.is(settingValue('autoForward', 'false'), false);
  assert.is(validateSetting('autoForward', settingValue('autoForward', 'false')), undefined);
  assert.is(validateSetting('allowHostLoopback', settingValue('allowHostLoopback', 'yes')), 'true or false');
});

test('slirp4netns command line: MTU 65520, host loopback hidden unless allowed, sandbox and seccomp when supported', () => {
  const features = parseFeatures('--enable-sandbox  create a new mount namespace\n--enable-seccomp  enable seccomp\n-6, --enable-ipv6  enable IPv6\n');
  assert.equal(features, { sandbox: true, seccomp: true, ipv6: true });
  assert.equal(slirp4netnsArgs({ allowHostLoopback: false, features }, '42'), [
    '--configure',
    '--mtu=65520',
    '--exit-fd=3',
    '--ready-fd=4',
    '--api-socket=slirp4netns.sock',
    '--disable-host-loopback',
    '--enable-sandbox',
    '--enable-seccomp',
    '--enable-ipv6',
    '42',
    'tap0',
  ]);
  const old = slirp4netnsArgs({ allowHostLoopback: true, features: parseFeatures('-c, --configure') }, '7');
  assert.not.ok(old.some((a) => /disable-host-loopback|sandbox|seccomp|ipv6/.test(a)));
});

test("pasta's command line: slirp4netns's addresses, no port forwarded either way unless published, the host's loopback hidden unless allowed", () => {
  const args = pastaArgs({ pid: 42, allowHostLoopback: false, udp: [] });
  for (const expected of ['--config-net', '--ns-ifname=tap0', '--address=10.0.2.100', '--gateway=10.0.2.2', '--dns-forward=10.0.2.3', '--no-map-gw'])
    assert.ok(args.includes(expected), expected);
  for (const direction of ['--tcp-ports=none', '--udp-ports=none', '--tcp-ns=none', '--udp-ns=none']) assert.ok(args.includes(direction), direction);
  assert.is(args[args.length - 1], '42');
  const allowed = pastaArgs({ pid: 7, allowHostLoopback: true, udp: [parsePortMapping('127.0.0.1:5353:53/udp'), parsePortMapping('0.0.0.0:6000:60/udp')] });
  assert.not.ok(allowed.includes('--no-map-gw'));
  assert.ok(allowed.includes('--udp-ports=127.0.0.1/5353:53,0.0.0.0/6000:60'));
});

test('networkBackend: auto, slirp4netns or pasta', () => {
  assert.is(settings.networkBackend, 'auto');
  assert.is(validateSetting('networkBackend', 'pasta'), undefined);
  assert.is(validateSetting('networkBackend', 'slirp'), 'one of auto, slirp4netns, pasta');
});

test("resolv.conf names slirp4netns's resolver and keeps the host's search domains and options", () => {
  const host = '# managed\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n';
  assert.is(slirpResolvConf(host), 'nameserver 10.0.2.3\nsearch corp.example\noptions edns0 trust-ad\n');
  assert.is(slirpResolvConf(''), 'nameserver 10.0.2.3\n');
});

test('--dns, --dns-search and --dns-option replace the servers and search domains and add options; --add-host adds lines', () => {
  const host = 'nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n';
  const names = resolveNameOptions({
    dns: ['192.0.2.1'],
    dnsSearch: ['a.test', 'b.test'],
    dnsOptions: ['ndots:2'],
    extraHosts: ['db.local:10.1.2.3', 'v6=::1'],
  });
  assert.is(slirpResolvConf(host, names), 'nameserver 192.0.2.1\nsearch a.test b.test\noptions edns0\noptions ndots:2\n');
  assert.is(bridgeResolvConf('10.89.0.1', host, names), 'nameserver 10.89.0.1\nsearch a.test b.test\noptions edns0\noptions ndots:2\n');
  assert.is(hostResolvConfWith(host, { ...names, dns: [] }), 'nameserver 127.0.0.53\nsearch a.test b.test\noptions edns0\noptions ndots:2\n');
  assert.equal(extraHostsEntries(names.extraHosts), ['10.1.2.3\tdb.local', '::1\tv6']);
  assert.throws(() => resolveNameOptions({ extraHosts: ['nohost'] }), /invalid --add-host "nohost"/);
  assert.throws(() => resolveNameOptions({ extraHosts: ['a:not-an-ip'] }), /invalid --add-host/);
  assert.throws(() => resolveNameOptions({ dns: ['dns.example'] }), /invalid --dns "dns\.example": not an IP address/);
  assert.throws(
    () => resolveNetworkOptions({ network: 'container:web', names: { dns: ['192.0.2.1'] } }, settings),
    /cannot be given with --network container:/,
  );
});

test("hosts: the sandbox's name on its address; the host only when reachable", () => {
  assert.equal(networkHostsEntries({ mode: 'slirp4netns', allowHostLoopback: false }, 'box'), ['10.0.2.100\tbox']);
  assert.equal(networkHostsEntries({ mode: 'slirp4netns', allowHostLoopback: true }, 'box'), [
    '10.0.2.100\tbox',
    '10.0.2.2\thost.containers.internal host.docker.internal',
  ]);
  assert.equal(networkHostsEntries({ mode: 'host', allowHostLoopback: true }, 'box'), ['127.0.1.1\tbox']);
});

test('--network given again: several devbox networks in order, --network-alias on the first; a mode or a repeat is refused', () => {
  const options = resolveNetworkOptions({ network: 'front', moreNetworks: ['back', 'db'], networkAliases: ['web'] }, settings);
  assert.equal(options.networks, [
    { name: 'front', aliases: ['web'] },
    { name: 'back', aliases: [] },
    { name: 'db', aliases: [] },
  ]);
  assert.is(options.mode, 'none');
  const withMode = thrownBy(() => resolveNetworkOptions({ network: 'front', moreNetworks: ['host'] }, settings)) as DevboxError;
  assert.is(withMode.message, '--network host cannot be given with other networks');
  const first = thrownBy(() => resolveNetworkOptions({ network: 'slirp4netns', moreNetworks: ['back'] }, settings)) as DevboxError;
  assert.is(first.message, '--network slirp4netns cannot be given with other networks');
  const twice = thrownBy(() => resolveNetworkOptions({ network: 'front', moreNetworks: ['back', 'front'] }, settings)) as DevboxError;
  assert.is(twice.message, '--network front is given twice');
  assert.is(twice.kind, 'usage');
});

test.run();
