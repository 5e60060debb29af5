// The --backend choices, apart from the selection code: the CLI lists them without loading tfjs
// (importing @tensorflow/tfjs takes seconds).
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
