// Checks a Keras topology (a LayersModel's model.json) before tfjs builds it: tfjs's builder waits
// for every layer call's inputs to appear, so a call naming a layer the model does not have, a call
// index that no layer has, or calls that depend on each other in a circle make it loop forever.
// Each container (the model, nested models) is checked on its own, at the level of layer calls
// ("nodes"): a shared layer may appear at two depths (A(B(A(x)))) without being a cycle.
import { cycleText, findCycle } from './cycles.js';
import { UnsupportedError } from './ops/errors.js';

type Json = Record<string, unknown>;
const CONTAINER_CLASSES = ['Sequential', 'Model', 'Functional'];
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** A layer's name as the builder reads it (the config's, else the entry's). */
const layerName = (l: Json): unknown => (isObject(l.config) && l.config.name !== undefined ? l.config.name : l.name);

/** Throws one line naming the first dangling reference or cycle; returns quietly for a sound topology. */
export function checkKerasTopology(topology: Json, file: string): void {
  const root = isObject(topology.model_config) ? topology.model_config : topology;
  checkContainer(root, file, String((isObject(root.config) && root.config.name) || 'model'));
}

function checkContainer(model: Json, file: string, where: string): void {
  const config = model.config;
  // Sequential: a list of layers (or {name, layers}) without call graph; only nested models to check.
  const layers: unknown = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (layers === undefined) return; // not a container config: tfjs says what is wrong with it
  if (!Array.isArray(layers)) throw new UnsupportedError(`${file}: model "${where}": its layers are not a list`);
  const byName = new Map<string, Json>();
  layers.forEach((l, i) => {
    if (!isObject(l)) throw new UnsupportedError(`${file}: model "${where}": layer ${i + 1} of ${layers.length} is not an object`);
    const name = layerName(l);
    if (model.class_name !== 'Sequential' || name !== undefined) {
      if (typeof name !== 'string') throw new UnsupportedError(`${file}: model "${where}": layer ${i + 1} of ${layers.length} has no name`);
      if (byName.has(name)) throw new UnsupportedError(`${file}: model "${where}": two layers are named "${name}"`);
      byName.set(name, l);
    }
    if (CONTAINER_CLASSES.includes(l.class_name as string)) checkContainer(l, file, `${where}/${String(name)}`);
  });
  if (model.class_name === 'Sequential' || Array.isArray(config)) return;

  // Calls of each layer: a container or an InputLayer has one call of its own before those listed.
  const own = (l: Json): number => (CONTAINER_CLASSES.includes(l.class_name as string) || l.class_name === 'InputLayer' ? 1 : 0);
  const calls = (l: Json): unknown[] => (Array.isArray(l.inbound_nodes) ? l.inbound_nodes : []);
  const count = (l: Json): number => own(l) + calls(l).length;
  const ref = (r: unknown, what: string): string => {
    if (!Array.isArray(r) || typeof r[0] !== 'string') return ''; // another format: tfjs refuses it itself
    const [name, index = 0] = r as [string, unknown];
    const target = byName.get(name);
    if (!target) throw new UnsupportedError(`${file}: model "${where}": ${what} names layer "${name}", which the model does not have`);
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= count(target)) {
      throw new UnsupportedError(
        `${file}: model "${where}": ${what} takes call ${JSON.stringify(index)} of layer "${name}", which has ${count(target)}`,
      );
    }
    return `${name}\u0000${index as number}`;
  };
  const deps = new Map<string, string[]>();
  for (const [name, l] of byName) {
    for (let k = 0; k < own(l); k++) deps.set(`${name}\u0000${k}`, []);
    calls(l).forEach((node, j) => {
      const inputs = Array.isArray(node) ? node : [];
      deps.set(
        `${name}\u0000${own(l) + j}`,
        inputs.map((r) => ref(r, `layer "${name}"`)).filter((k) => k !== ''),
      );
    });
  }
  const io = isObject(config) ? config : {};
  for (const key of ['input_layers', 'output_layers']) {
    const list = io[key];
    if (list !== undefined && !Array.isArray(list)) throw new UnsupportedError(`${file}: model "${where}": ${key} is not a list`);
    for (const r of (list as unknown[] | undefined) ?? []) ref(r, key);
  }
  const cycle = findCycle(deps.keys(), (n) => deps.get(n) ?? []);
  if (cycle) {
    const names = cycle.map((n) => n.split('\u0000')[0]!);
    throw new UnsupportedError(`${file}: model "${where}": its layers feed each other in a cycle: ${cycleText(names)}`);
  }
}
