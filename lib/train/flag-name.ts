// The `lmkit train` flag of an option name: 'weightDrop' -> '--weight-drop' (a leaf module, so
// that families and model-flags.ts can both use it without an import circle).

/** The CLI flag of a TrainRunOptions key. */
export function flagName(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
