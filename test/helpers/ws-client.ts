import WebSocket from 'ws';

/** A real WebSocket client that collects every frame and lets a test await the next ones. */

export interface Frame {
  topic: string;
  seq: number;
  ts: number;
  data: any;
}

export class TestClient {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  closedWith: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (raw, isBinary) => {
      if (isBinary) throw new Error('server sent a binary frame');
      this.frames.push(JSON.parse(raw.toString()) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', (code) => {
      this.closedWith = code;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(url: string): Promise<TestClient> {
    const socket = new WebSocket(url);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  of(topic: string): Frame[] {
    return this.frames.filter((f) => f.topic === topic);
  }

  /** Waits until `predicate` holds over the frames (or the socket closes), up to `ms`. */
  async until(predicate: (c: TestClient) => boolean, ms = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this)) {
      if (this.closedWith !== null)
        throw new Error(`socket closed (${this.closedWith}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  close(): void {
    this.socket.close();
  }
}
