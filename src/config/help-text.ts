import { flagOf, OPTION_NAMES, OPTION_SPECS } from './option-specs.js';

/** `--help`: every option with its flag, environment variable, default and meaning. */
export function helpText(): string {
  const lines = [
    'Usage: npm start -- [options]      (or: node dist/src/main.js [options])',
    '',
    'Every option can also be set by its environment variable; flags win.',
    '',
  ];
  for (const name of OPTION_NAMES) {
    const spec = OPTION_SPECS[name];
    const dflt = spec.default === '' ? '(empty)' : spec.default;
    lines.push(`  ${flagOf(name)} <value>`.padEnd(34) + `${spec.env}, default ${dflt}`);
    lines.push(`      ${spec.doc}`);
  }
  return lines.join('\n');
}
