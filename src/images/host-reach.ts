/**
 * How near a host name is to this machine, judged from its literal spelling (pure): `loopback`
 * (localhost, 127.0.0.0/8, ::1), `link-local` (169.254.0.0/16, fe80::/10: where cloud metadata
 * services answer), `private` (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), or `public`
 * (every other address, and every DNS name but localhost: its address is not known here).
 *
 * A server berth talks to may point berth at another (a registry's token realm): pointing it
 * nearer than itself (a public registry naming a loopback or link-local service) is how a hostile
 * server reaches what only this machine, or only its network, should; `isNearerThan` says so.
 */
import { BlockList, isIP } from 'node:net';

export type HostReach = 'loopback' | 'link-local' | 'private' | 'public';

const ORDER: Record<HostReach, number> = { loopback: 0, 'link-local': 1, private: 2, public: 3 };

const RANGES: [HostReach, BlockList][] = (() => {
  const list = (v4: [string, number][], v6: [string, number][]) => {
    const blocks = new BlockList();
    for (const [net, prefix] of v4) blocks.addSubnet(net, prefix, 'ipv4');
    for (const [net, prefix] of v6) blocks.addSubnet(net, prefix, 'ipv6');
    return blocks;
  };
  return [
    ['loopback', list([['127.0.0.0', 8]], [['::1', 128]])],
    ['link-local', list([['169.254.0.0', 16]], [['fe80::', 10]])],
    [
      'private',
      list(
        [
          ['10.0.0.0', 8],
          ['172.16.0.0', 12],
          ['192.168.0.0', 16],
          ['100.64.0.0', 10],
        ],
        [['fc00::', 7]],
      ),
    ],
  ];
})();

/** The reach of `hostname` (a URL's hostname: IPv6 in brackets or bare). */
export function hostReach(hostname: string): HostReach {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return 'loopback';
  const family = isIP(bare);
  if (family === 0) return 'public';
  // BlockList judges an IPv4-mapped IPv6 address (::ffff:7f00:1) by the IPv4 address it carries.
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [reach, blocks] of RANGES) if (blocks.check(bare, type)) return reach;
  return 'public';
}

/** Whether `target` is nearer this machine than `from` (a public server naming a loopback one, say). */
export function isNearerThan(target: string, from: string): boolean {
  return ORDER[hostReach(target)] < ORDER[hostReach(from)];
}
