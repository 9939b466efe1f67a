import { describe, expect, it } from 'vitest';
import { classify, parseIp, type AddressClass } from '../../src/net/address.js';
import { canonicalHost } from '../../src/net/resolve.js';
import { checkAddress } from '../../src/sandbox/egress/policy.js';

// The classifier decides on bytes: every spelling of an address gets the class of the address it
// names, and an IPv6 address that carries an IPv4 one gets the class of what it carries.
// `interfaces` is given explicitly so the table does not depend on this machine's network.
const INTERFACES = ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2'].map((a) => parseIp(a)!);
const SERVER_PORT = 4000;

const TABLE: Array<[host: string, cls: AddressClass, via?: string]> = [
  ['8.8.8.8', 'global'],
  ['1.1.1.1.', 'global'],
  ['[2606:4700::1111]', 'global'],
  ['[::ffff:8.8.8.8]', 'global'],
  ['[64:ff9b::808:808]', 'global'],
  ['[2002:808:808::1]', 'global'],
  ['127.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['[::1]', 'loopback'],
  ['[0:0:0:0:0:0:0:1]', 'loopback'],
  ['[::ffff:127.0.0.1]', 'loopback', '127.0.0.1'],
  ['[::ffff:7f00:1]', 'loopback', '127.0.0.1'],
  ['[::127.0.0.1]', 'loopback', '127.0.0.1'],
  ['[::ffff:0:7f00:1]', 'loopback', '127.0.0.1'],
  ['[64:ff9b::7f00:1]', 'loopback', '127.0.0.1'],
  ['[2002:7f00:1::]', 'loopback', '127.0.0.1'],
  ['[2001:0:4136:e378:8000:63bf:80ff:fffe]', 'loopback', '127.0.0.1'],
  ['[2001:0:7f00:1::1]', 'loopback', '127.0.0.1'],
  ['0', 'unspecified'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['[::]', 'unspecified'],
  ['[::ffff:0.0.0.0]', 'unspecified', '0.0.0.0'],
  ['169.254.169.254', 'link-local'],
  ['2852039166', 'link-local'],
  ['[fe80::1]', 'link-local'],
  ['[::ffff:a9fe:a9fe]', 'link-local', '169.254.169.254'],
  ['[2002:a9fe:a9fe::]', 'link-local', '169.254.169.254'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['[::ffff:10.0.0.1]', 'private', '10.0.0.1'],
  ['[64:ff9b:1::a00:1]', 'private'],
  ['100.64.0.1', 'shared (CGNAT)'],
  ['[fc00::1]', 'unique-local'],
  ['[fec0::1]', 'site-local'],
  ['224.0.0.1', 'multicast'],
  ['[ff02::1]', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['[2001:db8::1]', 'reserved'],
  ['[100::1]', 'reserved'],
  ['[::8.8.8.8]', 'reserved'],
  ['[4000::1]', 'reserved'],
  ['192.0.2.2', 'this host'],
  ['[fd00::2]', 'this host'],
  ['[::ffff:192.0.2.2]', 'this host', '192.0.2.2'],
];

const classOf = (host: string) => classify(parseIp(canonicalHost(host))!, INTERFACES);

describe('address classes', () => {
  it.each(TABLE)('%s is %s', (host, cls, via) => {
    const c = classOf(host);
    expect(c.class).toBe(cls);
    expect(c.via).toBe(via);
  });

  it('allows only global unicast unless the host was named; never Paddock’s own port on this host', () => {
    for (const [host, cls] of TABLE) {
      const c = classOf(host);
      const reason = checkAddress(c, 443, false, SERVER_PORT);
      if (cls === 'global') expect(reason, host).toBeUndefined();
      else expect(reason, host).toMatch(/^\S+ (is|carries) .* \(list the host in allowed_hosts to reach it\)$/);
      expect(checkAddress(c, 443, true, SERVER_PORT), `${host} named`).toBeUndefined();
      const own = checkAddress(c, SERVER_PORT, true, SERVER_PORT);
      if (['loopback', 'unspecified', 'this host'].includes(cls)) expect(own, host).toBe(`${c.address}:${SERVER_PORT} is the Paddock server itself`);
      else expect(own, host).toBeUndefined();
    }
  });

  it('says why in words a user can act on', () => {
    expect(checkAddress(classOf('[::ffff:127.0.0.1]'), 80, false, SERVER_PORT)).toBe(
      '::ffff:7f00:1 carries 127.0.0.1, a loopback address (list the host in allowed_hosts to reach it)',
    );
    expect(checkAddress(classOf('169.254.169.254'), 80, false, SERVER_PORT)).toBe(
      '169.254.169.254 is a link-local address (list the host in allowed_hosts to reach it)',
    );
  });

  it('reads hosts as the URL parser does, and refuses what is not a host', () => {
    expect(['2130706433', '0x7f.1', '0177.0.0.1', '127.1', '127.0.0.1.'].map(canonicalHost)).toEqual(Array(5).fill('127.0.0.1'));
    expect(['[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]'].map(canonicalHost)).toEqual(['::ffff:7f00:1', '::ffff:7f00:1']);
    expect(['LOCALHOST', 'localhost.', 'Example.COM'].map(canonicalHost)).toEqual(['localhost', 'localhost', 'example.com']);
    for (const bad of [
      '256.0.0.1',
      '09.0.0.1',
      '1.2.3.4.5',
      'a..b',
      '.',
      '',
      'user@127.0.0.1',
      '127.0.0.1 x',
      '[fe80::1%eth0]',
      '[127.0.0.1]',
      'a/b',
      'host:80',
    ]) {
      expect(() => canonicalHost(bad), bad).toThrow(/is not a host name or address/);
    }
  });
});
