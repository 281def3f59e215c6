import { connect } from 'node:net';

/**
 * Raw bytes on a fresh TCP connection to 127.0.0.1:`port`; resolves with everything read
 * until the server closes the connection (`closed: true`) or `ms` pass (`closed: false`).
 * For requests no HTTP client would send (smuggling, oversized headers).
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  ms = 5000,
): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data, closed: false });
    }, ms);
    s.on('data', (d) => {
      data += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true });
    });
    s.write(bytes);
  });
}
