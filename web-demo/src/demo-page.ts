// The demo page (web-demo/index.html): model, class, seed and count controls, a per-class grid,
// a latent walk and PNG download. All inference goes through generator.ts.
import { classIndex } from '../../common/class-label.js';
import { randomSeed } from '../../common/rng.js';
import { defaultColumns, downloadPng, drawGrid, drawMessage, scaleFor } from './grid-canvas.js';
import { loadGenerator, type Generated, type Generator } from './generator.js';
import { classRows, nudgedFrame, walkFrame, walkStrip } from './latent-walk.js';
import { loadCatalog, type CatalogEntry } from './model-catalog.js';
import { loadRuntime, wasmUnsupportedReason } from './ort-runtime.js';

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

const ui = {
  error: byId<HTMLDivElement>('error'),
  form: byId<HTMLFormElement>('controls'),
  model: byId<HTMLSelectElement>('model'),
  labelField: byId<HTMLDivElement>('label-field'),
  label: byId<HTMLSelectElement>('label'),
  seed: byId<HTMLInputElement>('seed'),
  newSeed: byId<HTMLButtonElement>('new-seed'),
  count: byId<HTMLInputElement>('count'),
  generate: byId<HTMLButtonElement>('generate'),
  download: byId<HTMLButtonElement>('download'),
  modelInfo: byId<HTMLParagraphElement>('model-info'),
  grid: byId<HTMLCanvasElement>('grid'),
  timing: byId<HTMLElement>('timing'),
  classesPanel: byId<HTMLElement>('classes-panel'),
  classColumns: byId<HTMLInputElement>('class-columns'),
  classGrid: byId<HTMLCanvasElement>('class-grid'),
  classTiming: byId<HTMLElement>('class-timing'),
  walkFrom: byId<HTMLInputElement>('walk-from'),
  walkTo: byId<HTMLInputElement>('walk-to'),
  walkT: byId<HTMLInputElement>('walk-t'),
  walkTValue: byId<HTMLOutputElement>('walk-t-value'),
  walkPlay: byId<HTMLButtonElement>('walk-play'),
  walkFrame: byId<HTMLCanvasElement>('walk-frame'),
  walkTiming: byId<HTMLElement>('walk-timing'),
  walkStrip: byId<HTMLCanvasElement>('walk-strip'),
  sliders: byId<HTMLDivElement>('sliders'),
  sliderFrame: byId<HTMLCanvasElement>('slider-frame'),
  sliderTiming: byId<HTMLElement>('slider-timing'),
  slidersReset: byId<HTMLButtonElement>('sliders-reset'),
};
const canvases = [ui.grid, ui.classGrid, ui.walkFrame, ui.walkStrip, ui.sliderFrame];
const SLIDER_COUNT = 6;
const WALK_STEPS = 10;

let catalog: CatalogEntry[] = [];
let generator: Generator | null = null;
let modelToken = 0;
/** Bytes of onnxruntime-web received so far (its load starts before the model list arrives). */
let runtimeBytes = 0;
let playing = false;

function setState(state: 'loading' | 'ready' | 'error'): void {
  document.body.dataset.state = state;
  ui.grid.toggleAttribute('aria-busy', state === 'loading');
}

function showError(message: string): void {
  ui.error.textContent = message;
  setState('error');
}

/** Problems that stay listed (models the server failed to load); other errors clear on success. */
let standingErrors = '';
/** Why the page's ?label= was not used; shown until another model or class is chosen. */
let labelProblem = '';

function clearError(): void {
  ui.error.textContent = [standingErrors, labelProblem].filter(Boolean).join('\n');
}

/** An input's integer value, or an error naming the field; the field is marked invalid. */
function intInput(input: HTMLInputElement, name: string): number {
  const n = Number(input.value);
  const min = Number(input.min);
  const max = Number(input.max);
  const ok = input.value.trim() !== '' && Number.isInteger(n) && n >= min && n <= max;
  input.setAttribute('aria-invalid', String(!ok));
  if (!ok) throw new RangeError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

const selectedLabel = (): number | null => (ui.label.value === '' ? null : Number(ui.label.value));

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function timingText(out: Generated): string {
  return `${plural(out.count, 'image')} in ${out.ms.toFixed(1)} ms (onnxruntime-web, WebAssembly)`;
}

function syncUrl(): void {
  const q = new URLSearchParams({ model: ui.model.value, seed: ui.seed.value, count: ui.count.value });
  const label = selectedLabel();
  if (generator?.conditional && label !== null) q.set('label', generator.classes[label]!); // a name reads better and resolves first
  history.replaceState(null, '', `?${q}`);
}

async function generateMain(): Promise<void> {
  const g = generator;
  if (!g) return;
  try {
    const seed = intInput(ui.seed, 'Seed');
    const count = intInput(ui.count, 'Images');
    const label = selectedLabel();
    setState('loading');
    const out = await g.generate({ seed, count, label });
    if (g !== generator) return;
    drawGrid(ui.grid, out.images, count, { cols: defaultColumns(count), scale: scaleFor(g.shape, 112), shape: g.shape });
    const what = g.conditional ? (label === null ? 'classes in turn' : `class ${g.classes[label]}`) : g.metadata.kind;
    ui.grid.setAttribute('aria-label', `${plural(count, 'generated image')} from ${ui.model.value}, ${what}, seed ${seed}`);
    ui.timing.textContent = `${timingText(out)} · seed ${seed}`;
    clearError();
    syncUrl();
    setState('ready');
  } catch (e) {
    showError(`Generation failed: ${(e as Error).message}`);
    drawMessage(ui.grid, (e as Error).message);
  }
}

async function generateClassRows(): Promise<void> {
  const g = generator;
  if (!g?.conditional) return;
  try {
    const seed = intInput(ui.seed, 'Seed');
    const cols = intInput(ui.classColumns, 'Columns');
    const out = await classRows(g, seed, cols);
    if (g !== generator) return;
    drawGrid(ui.classGrid, out.images, out.count, { cols, scale: scaleFor(g.shape, 56), rowLabels: g.classes, shape: g.shape });
    ui.classGrid.setAttribute(
      'aria-label',
      `${g.classes.length} rows, one per class (${g.classes.join(', ')}), ${cols} noise vectors from seed ${seed}`,
    );
    ui.classTiming.textContent = timingText(out);
  } catch (e) {
    drawMessage(ui.classGrid, (e as Error).message);
    ui.classTiming.textContent = '';
  }
}

function walkSeeds(): [number, number] {
  return [intInput(ui.walkFrom, 'From seed'), intInput(ui.walkTo, 'To seed')];
}

async function renderWalkFrame(): Promise<void> {
  const g = generator;
  if (!g) return;
  try {
    const t = Number(ui.walkT.value);
    ui.walkTValue.value = t.toFixed(2);
    const [from, to] = walkSeeds();
    const out = await walkFrame(g, from, to, t, selectedLabel());
    if (g !== generator) return;
    drawGrid(ui.walkFrame, out.images, 1, { cols: 1, scale: scaleFor(g.shape, 168), shape: g.shape });
    ui.walkFrame.setAttribute('aria-label', `image at position ${t.toFixed(2)} between seed ${from} and seed ${to}`);
    ui.walkTiming.textContent = `t = ${t.toFixed(2)} · ${out.ms.toFixed(1)} ms`;
  } catch (e) {
    stopWalk();
    drawMessage(ui.walkFrame, (e as Error).message);
  }
}

async function renderWalkStrip(): Promise<void> {
  const g = generator;
  if (!g) return;
  try {
    const [from, to] = walkSeeds();
    const out = await walkStrip(g, from, to, WALK_STEPS, selectedLabel());
    if (g !== generator) return;
    drawGrid(ui.walkStrip, out.images, WALK_STEPS, { cols: WALK_STEPS, scale: scaleFor(g.shape, 56), shape: g.shape });
  } catch (e) {
    drawMessage(ui.walkStrip, (e as Error).message);
  }
}

/** Builds the latent direction sliders (label, range, value read-out). */
function buildSliders(): HTMLInputElement[] {
  const inputs: HTMLInputElement[] = [];
  for (let k = 0; k < SLIDER_COUNT; k++) {
    const label = document.createElement('label');
    label.htmlFor = `direction-${k}`;
    label.textContent = `Direction ${k + 1}`;
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', id: `direction-${k}`, min: '-1', max: '1', step: '0.05', value: '0' });
    const output = document.createElement('output');
    output.htmlFor.add(input.id);
    output.value = '0.00';
    input.addEventListener('input', () => {
      output.value = Number(input.value).toFixed(2);
      void renderSliderFrame();
    });
    ui.sliders.append(label, input, output);
    inputs.push(input);
  }
  return inputs;
}
const directionInputs = buildSliders();

async function renderSliderFrame(): Promise<void> {
  const g = generator;
  if (!g) return;
  try {
    const base = intInput(ui.walkFrom, 'From seed');
    const amounts = directionInputs.map((i) => Number(i.value));
    const out = await nudgedFrame(g, base, amounts, selectedLabel());
    if (g !== generator) return;
    drawGrid(ui.sliderFrame, out.images, 1, { cols: 1, scale: scaleFor(g.shape, 168), shape: g.shape });
    ui.sliderFrame.setAttribute('aria-label', `image from seed ${base} moved by ${amounts.map((a) => a.toFixed(2)).join(', ')}`);
    ui.sliderTiming.textContent = `${out.ms.toFixed(1)} ms`;
  } catch (e) {
    drawMessage(ui.sliderFrame, (e as Error).message);
  }
}

function stopWalk(): void {
  playing = false;
  ui.walkPlay.setAttribute('aria-pressed', 'false');
  ui.walkPlay.textContent = '▶ Play';
}

/** Ping-pongs the slider between the two seeds, one inference per frame. */
async function playWalk(): Promise<void> {
  playing = true;
  ui.walkPlay.setAttribute('aria-pressed', 'true');
  ui.walkPlay.textContent = '⏸ Pause';
  let direction = 1;
  while (playing) {
    let t = Number(ui.walkT.value) + direction * 0.02;
    if (t >= 1 || t <= 0) direction = -direction;
    t = Math.min(1, Math.max(0, t));
    ui.walkT.value = String(t);
    await renderWalkFrame();
    await new Promise((r) => requestAnimationFrame(r));
  }
}

function renderAll(): Promise<unknown> {
  return Promise.all([generateMain(), generateClassRows(), renderWalkStrip(), renderWalkFrame(), renderSliderFrame()]);
}

function describeModel(g: Generator): string {
  const m = g.metadata;
  const [c, h, w] = g.shape;
  // Informational metadata may be absent (dropped when malformed): show what there is.
  const length = [m.epochs !== undefined ? plural(m.epochs, 'epoch') : '', m.steps !== undefined ? `(${m.steps} steps)` : '']
    .filter(Boolean)
    .join(' ');
  const training = [m.dataset ?? '', length].filter(Boolean).join(', ');
  const parts = [
    `${m.kind}${g.conditional ? ` (conditional, ${g.classes.length} classes)` : ''}`,
    `${w}×${h} ${c === 3 ? 'colour' : 'grey'}`,
    ...(training ? [training] : []),
    `noise ${m.noise ?? '(not stated)'} × ${m.noiseDim}`,
    `${(g.bytes / 1024).toFixed(0)} KiB`,
  ];
  if (m.ema !== undefined) parts.push(`EMA ${m.ema}`);
  return parts.join(' · ');
}

/**
 * The class menu of `g`, set to `wanted` (a class name or index, as the element and the API take it)
 * when the model has that class, else to all classes; returns why `wanted` was not used, or ''.
 */
function fillLabels(g: Generator, wanted: string | null): string {
  ui.label.replaceChildren(new Option('all, in turn', ''), ...g.classes.map((c, i) => new Option(c, String(i))));
  ui.labelField.hidden = !g.conditional;
  ui.label.disabled = !g.conditional;
  ui.classesPanel.hidden = !g.conditional;
  ui.label.value = '';
  if (wanted === null) return '';
  if (!g.conditional) return `this ${g.metadata.kind} model has no classes`;
  try {
    ui.label.value = String(classIndex(g.classes, wanted));
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/** The chosen class's name, which the next model keeps when it has a class of that name. */
function selectedClassName(): string | null {
  const label = selectedLabel();
  return generator && label !== null ? generator.classes[label]! : null;
}

/** Loads model `name`; `fromUrl`: `wantedLabel` is the page's ?label=, and a label it lacks is reported. */
async function selectModel(name: string, wantedLabel: string | null = selectedClassName(), fromUrl = false): Promise<void> {
  const entry = catalog.find((m) => m.name === name);
  if (!entry) return;
  const token = ++modelToken;
  stopWalk();
  labelProblem = '';
  generator = null;
  setState('loading');
  ui.timing.textContent = `loading ${name}…`;
  ui.modelInfo.textContent = '';
  try {
    const onProgress = (bytes: number): void => {
      if (token === modelToken) ui.timing.textContent = `loading ${name}… ${((bytes + runtimeBytes) / 1e6).toFixed(1)} MB`;
    };
    const g = await loadGenerator(entry.src, { onProgress });
    if (token !== modelToken) return;
    generator = g;
    const problem = fillLabels(g, wantedLabel);
    if (fromUrl && problem) labelProblem = `?label=${wantedLabel} is not used: ${problem}; showing all classes.`;
    ui.modelInfo.textContent = describeModel(g);
    clearError();
    await renderAll();
  } catch (e) {
    if (token !== modelToken) return;
    const message = `Model "${name}" failed to load: ${(e as Error).message}`;
    showError(message);
    ui.timing.textContent = '';
    for (const c of canvases) drawMessage(c, 'model failed to load');
  }
}

function wireControls(): void {
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    void generateMain();
  });
  ui.model.addEventListener('change', () => void selectModel(ui.model.value));
  ui.label.addEventListener('change', () => {
    labelProblem = '';
    void Promise.all([generateMain(), renderWalkStrip(), renderWalkFrame(), renderSliderFrame()]);
  });
  ui.seed.addEventListener('change', () => void Promise.all([generateMain(), generateClassRows()]));
  ui.count.addEventListener('change', () => void generateMain());
  ui.newSeed.addEventListener('click', () => {
    ui.seed.value = String(randomSeed());
    void Promise.all([generateMain(), generateClassRows()]);
  });
  ui.classColumns.addEventListener('change', () => void generateClassRows());
  ui.download.addEventListener('click', () => {
    const label = generator?.conditional && ui.label.value !== '' ? `-class${ui.label.value}` : '';
    downloadPng(ui.grid, `onnxgan-${ui.model.value}-seed${ui.seed.value}${label}.png`);
  });
  ui.walkT.addEventListener('input', () => void renderWalkFrame());
  for (const input of [ui.walkFrom, ui.walkTo])
    input.addEventListener('change', () => void Promise.all([renderWalkStrip(), renderWalkFrame(), renderSliderFrame()]));
  ui.slidersReset.addEventListener('click', () => {
    for (const input of directionInputs) {
      input.value = '0';
      input.dispatchEvent(new Event('input'));
    }
  });
  ui.walkPlay.addEventListener('click', () => (playing ? stopWalk() : void playWalk()));
}

function disableControls(): void {
  for (const el of document.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLSelectElement>('input, select, button'))
    el.disabled = true;
}

async function main(): Promise<void> {
  const unsupported = wasmUnsupportedReason();
  if (unsupported) {
    showError(unsupported);
    for (const c of canvases) drawMessage(c, 'WebAssembly is not supported');
    disableControls();
    return;
  }
  const q = new URLSearchParams(location.search);
  ui.seed.value = q.get('seed') ?? String(randomSeed());
  if (q.get('count')) ui.count.value = q.get('count')!;
  wireControls();
  // The runtime does not depend on the model list: its downloads start now (a failure shows when
  // the model loads).
  loadRuntime(null, (n) => (runtimeBytes += n)).catch(() => undefined);
  try {
    const list = await loadCatalog();
    catalog = list.models;
  } catch (e) {
    showError(`No models to show: ${(e as Error).message}`);
    for (const c of canvases) drawMessage(c, 'no models available');
    return;
  }
  if (catalog.length === 0) {
    showError('The model list is empty: export a generator (onnxgan export) into the served models folder.');
    for (const c of canvases) drawMessage(c, 'no models available');
    return;
  }
  ui.model.replaceChildren(
    ...catalog.map((m) => {
      const text = m.error ? `${m.name} (failed to load on the server)` : m.kind && m.kind !== m.name ? `${m.name} (${m.kind})` : m.name;
      const option = new Option(text, m.name);
      option.disabled = m.error !== undefined;
      return option;
    }),
  );
  const usable = catalog.filter((m) => !m.error);
  const failed = catalog.filter((m) => m.error);
  standingErrors = failed.map((m) => `Model "${m.name}" failed to load on the server: ${m.error}`).join('\n');
  clearError();
  if (usable.length === 0) {
    for (const c of canvases) drawMessage(c, 'no model could be loaded');
    return;
  }
  const wanted = q.get('model');
  ui.model.value = usable.some((m) => m.name === wanted) ? wanted! : (usable.find((m) => m.name === 'cgan') ?? usable[0]!).name;
  await selectModel(ui.model.value, q.get('label'), true);
}

main().catch((e: unknown) => showError(`The demo failed to start: ${(e as Error).message}`));
