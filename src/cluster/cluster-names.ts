/**
 * The NATS names one cluster uses, all derived from CLUSTER_NAME so that several clusters
 * (or parallel test runs) can share one NATS server without seeing each other:
 *
 *   <name>.partial.<node>   subject of node <node>'s per-tick partial (partial-codec.ts)
 *   <name>.feed.<node>      its live feed sample and alerts, core NATS (cluster-feed.ts)
 *   <name>_partials         JetStream stream holding the partials of the last hour
 *   <name>_nodes            key-value bucket of node leases (node-lease.ts)
 *   <name>_control          key-value bucket of the scenario command (cluster-control.ts)
 */

export interface ClusterNames {
  readonly partialSubject: (node: number) => string;
  readonly partialWildcard: string;
  readonly feedSubject: (node: number) => string;
  readonly feedWildcard: string;
  readonly stream: string;
  readonly leaseBucket: string;
  readonly controlBucket: string;
}

export function clusterNames(name: string): ClusterNames {
  return {
    partialSubject: (node) => `${name}.partial.${node}`,
    partialWildcard: `${name}.partial.*`,
    feedSubject: (node) => `${name}.feed.${node}`,
    feedWildcard: `${name}.feed.*`,
    stream: `${name}_partials`,
    leaseBucket: `${name}_nodes`,
    controlBucket: `${name}_control`,
  };
}

/** Every JetStream stream a cluster leaves on the server (a KV bucket is stream KV_<bucket>). */
export function clusterStreams(name: string): string[] {
  const n = clusterNames(name);
  return [n.stream, `KV_${n.leaseBucket}`, `KV_${n.controlBucket}`];
}
