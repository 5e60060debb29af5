// The tfjs backends a command may ask for. No tfjs import: the CLI reads this to build --help.
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
