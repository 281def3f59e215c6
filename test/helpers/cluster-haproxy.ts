import { type RunningProxy, startHaproxy } from './haproxy.js';

/** deploy/haproxy-cluster.cfg run by a real HAProxy in front of test nodes, on a free port. */

export type ClusterProxy = RunningProxy;

export function startClusterProxy(nodePorts: number[]): Promise<ClusterProxy> {
  const env: Record<string, string> = {};
  nodePorts.forEach((p, i) => {
    env[`PB_NODE_${i}`] = `127.0.0.1:${p}`;
  });
  return startHaproxy(env, 'haproxy-cluster.cfg');
}
