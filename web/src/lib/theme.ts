/**
 * Dark / light theme. The palette lives in CSS custom properties on <html> (styles.css),
 * which inherit into every shadow root; canvases cannot read CSS, so charts ask for the
 * resolved colours here when they are (re)built.
 */
export type Theme = 'dark' | 'light';

const KEY = 'pulseboard.theme';

export function initialTheme(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'dark' || saved === 'light') return saved;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function applyTheme(theme: Theme, persist: boolean): void {
  document.documentElement.dataset['theme'] = theme;
  document.documentElement.style.colorScheme = theme;
  if (persist) localStorage.setItem(KEY, theme);
}

/** The resolved value of a `--pb-…` custom property on <html>. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
