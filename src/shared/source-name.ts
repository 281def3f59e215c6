/**
 * What a source name may be, in a file of its own with no imports: the server, the
 * ingest validator, the alert rule schema and the dashboard (which bundles rule-schema.ts)
 * share it. Lowercase so `Shop-Web` and `shop-web` are never two sources; 32 characters,
 * the width of the `source` columns (src/db/schema.ts) and of a registry name slot.
 */
export const SOURCE_NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
export const SOURCE_NAME_RULE =
  '1–32 characters of a–z 0–9 - _ . (lowercase, starting with a letter or digit)';
/** The name of the overflow slot (source-registry.ts); producers may send it too (it counts there). */
export const OVERFLOW_SOURCE = 'other';

/** What turns a record's source slot into its name (the live feed, alerts): the registry. */
export interface SourceNames {
  nameOf(slot: number): string;
}
