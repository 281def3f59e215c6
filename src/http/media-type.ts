/**
 * The media type of a Content-Type header: before any `;` parameter, trimmed, lower case
 * (`application/json; charset=utf-8` → `application/json`). Read twice per ingest request
 * (the guard and the route), so without the array `split` would make.
 */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
