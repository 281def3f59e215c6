import { isLoopbackHost } from './exposure.js';

/**
 * Open WebSocket connections per client address, so one address cannot take every slot
 * of WS_MAX_CONNECTIONS (WS_MAX_CONNECTIONS_PER_ADDRESS; 0 = no cap). An entry lives while
 * its address has a socket open, so the map holds at most WS_MAX_CONNECTIONS entries.
 * Loopback addresses are not counted unless LOOPBACK_LIMITS=true: there a single address is
 * a local process (the benchmark swarms open 10,000 sockets from 127.0.0.1) or a local
 * reverse proxy speaking for every client (cap in the proxy).
 */
export class AddressSlots {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly limitLoopback: boolean,
  ) {}

  /** The key `address` is counted under, or '' when it is not counted. */
  keyOf(address: string): string {
    if (this.max <= 0 || (!this.limitLoopback && isLoopbackHost(address))) return '';
    return address;
  }

  /** Whether `key` (from keyOf) has no slot left. */
  full(key: string): boolean {
    return key !== '' && (this.open.get(key) ?? 0) >= this.max;
  }

  add(key: string): void {
    if (key !== '') this.open.set(key, (this.open.get(key) ?? 0) + 1);
  }

  remove(key: string): void {
    if (key === '') return;
    const n = (this.open.get(key) ?? 0) - 1;
    if (n > 0) this.open.set(key, n);
    else this.open.delete(key);
  }

  /** Addresses with a socket open (for tests and diagnostics). */
  get addresses(): number {
    return this.open.size;
  }
}
