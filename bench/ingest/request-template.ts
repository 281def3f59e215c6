/**
 * The POST /api/transactions request a bench connection sends, serialised once: request
 * line, headers and a JSON body of `itemsPerRequest` items (an object for one, an array for
 * more), each with a ref of fixed width so the Content-Length never changes. Per request
 * only the refs' digits are written into the bytes (`fill`): no JSON.stringify, no string
 * building, no allocation. autocannon's path (autocannon-load.ts) builds the same items from
 * `itemJson`, so both clients post the same bodies. With no items the request is a GET of
 * `path` (the peers bench reads GET /api/metrics with this client).
 *
 *   ref = <prefix><item number, REF_DIGITS decimal digits, zero-padded>
 */

export const REF_DIGITS = 10;
const SOURCES = ['card-pos', 'ach', 'wire', 'mobile', 'atm', 'p2p'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];
const ACCOUNTS = 5000;

export function refOf(prefix: string, n: number): string {
  return prefix + String(n).padStart(REF_DIGITS, '0');
}

/** One item; `k` picks its source, account, amount and currency (spread as producers are). */
export function itemJson(ref: string, k: number): string {
  return `{"ref":"${ref}","source":"${SOURCES[k % SOURCES.length]}","account":"acct-${k % ACCOUNTS}","amount":${100 + (k % 100_000)},"currency":"${CURRENCIES[k % CURRENCIES.length]}"}`;
}

export class RequestTemplate {
  readonly bytes: Buffer;
  /** Offset of each item's first ref digit in `bytes`. */
  private readonly digits: number[] = [];

  /**
   * `variety` picks the items' other fields (the connection's index: connections differ,
   * requests of one connection differ only by ref).
   */
  constructor(
    host: string,
    path: string,
    prefix: string,
    itemsPerRequest: number,
    variety: number,
  ) {
    if (itemsPerRequest === 0) {
      this.bytes = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      return;
    }
    const marker = refOf(prefix, 0);
    const items: string[] = [];
    for (let i = 0; i < itemsPerRequest; i++)
      items.push(itemJson(marker, variety * itemsPerRequest + i));
    const body = Buffer.from(itemsPerRequest === 1 ? items[0]! : `[${items.join(',')}]`);
    const head = Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    this.bytes = Buffer.concat([head, body]);
    const needle = `"ref":"${marker}"`;
    let at = this.bytes.indexOf(needle, head.length);
    while (at !== -1) {
      this.digits.push(at + needle.length - 1 - REF_DIGITS);
      at = this.bytes.indexOf(needle, at + needle.length);
    }
    if (this.digits.length !== itemsPerRequest) throw new Error('ref marker not unique in body');
  }

  /**
   * Writes refs `first` … `first + itemsPerRequest − 1` into `b` (the template's own bytes
   * unless the caller passes a copy: bytes still queued on a socket must not change).
   */
  fill(first: number, b: Buffer = this.bytes): Buffer {
    for (let i = 0; i < this.digits.length; i++) {
      let n = first + i;
      const at = this.digits[i]!;
      for (let d = REF_DIGITS - 1; d >= 0; d--) {
        b[at + d] = 0x30 + (n % 10);
        n = Math.floor(n / 10);
      }
    }
    return b;
  }
}
