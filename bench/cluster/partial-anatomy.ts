import { decodePartial } from '../../src/cluster/partial-codec.js';
import { B_HISTOGRAM, B_SOURCES, B_VOLUME, ROW_STRIDE } from '../../src/shared/window-row.js';

/**
 * What a partial's bytes are made of, read back from the messages themselves: its JSON
 * header, its rows (seconds, each of a fixed width on the wire), and per row the non-zero
 * words of each part of the window row (window-row.ts) — counters, per-currency volumes,
 * latency histogram buckets, source fields — which is what the traffic touched.
 */

export interface PartialAnatomy {
  partials: number;
  /** Means per partial. */
  bytes: number;
  headerBytes: number;
  rows: number;
  /** Means per row: non-zero words by part of the row. */
  wordsPerRow: { counters: number; volumes: number; histogram: number; sources: number };
  /** Source slots named in the header (the names its registry holds), mean. */
  sourceSlots: number;
}

export class AnatomyCounter {
  private partials = 0;
  private bytes = 0;
  private headerBytes = 0;
  private rows = 0;
  private slots = 0;
  private readonly words = { counters: 0, volumes: 0, histogram: 0, sources: 0 };

  add(data: Uint8Array): void {
    const p = decodePartial(data);
    this.partials++;
    this.bytes += data.length;
    this.headerBytes += new DataView(data.buffer, data.byteOffset).getUint32(0, true);
    this.rows += p.header.seconds.length;
    this.slots += p.header.sources.length;
    for (let i = 0; i < p.rows.length; i++) {
      if (p.rows[i] === 0) continue;
      const w = i % ROW_STRIDE;
      if (w === 0) continue; // the second: sent in the header
      if (w < B_VOLUME) this.words.counters++;
      else if (w < B_HISTOGRAM) this.words.volumes++;
      else if (w < B_SOURCES) this.words.histogram++;
      else this.words.sources++;
    }
  }

  reset(): void {
    this.partials = this.bytes = this.headerBytes = this.rows = this.slots = 0;
    this.words.counters = this.words.volumes = this.words.histogram = this.words.sources = 0;
  }

  summary(): PartialAnatomy {
    const per = (x: number, n: number) => Math.round((x / Math.max(1, n)) * 10) / 10;
    return {
      partials: this.partials,
      bytes: per(this.bytes, this.partials),
      headerBytes: per(this.headerBytes, this.partials),
      rows: per(this.rows, this.partials),
      wordsPerRow: {
        counters: per(this.words.counters, this.rows),
        volumes: per(this.words.volumes, this.rows),
        histogram: per(this.words.histogram, this.rows),
        sources: per(this.words.sources, this.rows),
      },
      sourceSlots: per(this.slots, this.partials),
    };
  }
}
