/** `?inline` imports are loaded as text by scripts/build-web.mjs (for shadow-root styles). */
declare module '*?inline' {
  const text: string;
  export default text;
}
