import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

/**
 * A network namespace for one node, joined to this host by two veth pairs so that its two
 * kinds of traffic can be cut apart (needs root and `ip`):
 *
 *   host                                   namespace
 *   10.231.N.1  ── pair "b" (backplane) ── 10.231.N.2     NATS only: cut() takes it down
 *   10.232.N.1  ── pair "c" (clients)   ── 10.232.N.2     HTTP and WebSocket clients
 *
 * No default route in the namespace: with pair "b" down, NATS is unreachable from it, and
 * clients still reach the node on 10.232.N.2.
 */

export interface NodeNamespace {
  name: string;
  /** The host's end of the backplane pair (bind NATS here). */
  backplaneHost: string;
  /** The node's address for clients. */
  clientAddress: string;
  /** argv prefix that runs a command inside the namespace. */
  exec: string[];
  cut(): void;
  heal(): void;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

export function createNodeNamespace(): NodeNamespace {
  if (process.getuid?.() !== 0)
    throw new Error(
      'the partition test creates network namespaces: run npm test as root (ip netns, veth)',
    );
  const n = randomInt(10, 250);
  const tag = `pb${n}${randomInt(100, 999)}`;
  const name = `${tag}ns`;
  const pairs = [
    { host: `${tag}b0`, peer: `${tag}b1`, net: `10.231.${n}` },
    { host: `${tag}c0`, peer: `${tag}c1`, net: `10.232.${n}` },
  ];
  ip('netns', 'add', name);
  ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  for (const p of pairs) {
    ip('link', 'add', p.host, 'type', 'veth', 'peer', 'name', p.peer);
    ip('link', 'set', p.peer, 'netns', name);
    ip('addr', 'add', `${p.net}.1/30`, 'dev', p.host);
    ip('link', 'set', p.host, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${p.net}.2/30`, 'dev', p.peer);
    ip('netns', 'exec', name, 'ip', 'link', 'set', p.peer, 'up');
  }
  const backplane = pairs[0]!;
  const remove = () => {
    for (const p of pairs) {
      try {
        ip('link', 'del', p.host);
      } catch {
        // gone with the namespace
      }
    }
    try {
      ip('netns', 'del', name);
    } catch {
      // already removed
    }
  };
  // Also when the test process ends without its teardown (a failed `before`, a timeout).
  process.once('exit', remove);
  return {
    name,
    backplaneHost: `${backplane.net}.1`,
    clientAddress: `${pairs[1]!.net}.2`,
    exec: ['ip', 'netns', 'exec', name],
    cut: () => ip('link', 'set', backplane.host, 'down'),
    heal: () => ip('link', 'set', backplane.host, 'up'),
    remove,
  };
}
