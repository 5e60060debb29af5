// <onnx-gan src="/models/cgan.onnx" label="7" seed="42" count="8"></onnx-gan>
// A custom element that runs an onnxgan generator in the page and draws the images. It re-renders
// when an attribute changes and shows errors inside itself. Importing this module defines it.
import { classIndex } from '../../common/class-label.js';
import { randomSeed } from '../../common/rng.js';
import { defaultColumns, drawGrid, drawMessage, scaleFor } from './grid-canvas.js';
import { loadGenerator, type Generated, type Generator } from './generator.js';

export { Generator, loadGenerator, type Generated, type LoadOptions } from './generator.js';
export { setRuntimeLocation } from './ort-runtime.js';
export { generatorNoise, interpolateNoise } from '../../common/rng.js';

const MAX_COUNT = 256;

const STYLE = `
:host { display: inline-block; max-width: 100%; font: 13px/1.4 system-ui, sans-serif; color: inherit; }
:host([hidden]) { display: none; }
figure { margin: 0; display: inline-flex; flex-direction: column; align-items: flex-start; gap: 4px; max-width: 100%; }
canvas { display: block; max-width: 100%; height: auto; image-rendering: pixelated; background: #282828; border-radius: 4px; }
figcaption { opacity: .75; font-variant-numeric: tabular-nums; }
[role=alert] { color: #b00020; background: #fdecee; border: 1px solid #f3b6bf; border-radius: 4px; padding: 4px 8px; max-width: 40em; }
[role=alert]:empty { display: none; }
`;

/** A constructed style sheet: unlike a <style> element, a page's CSP style-src does not apply to it. */
let sheet: CSSStyleSheet | null = null;
function adoptStyle(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
    }
    root.adoptedStyleSheets = [sheet];
  } else {
    root.prepend(Object.assign(document.createElement('style'), { textContent: STYLE }));
  }
}

interface Parsed {
  src: string;
  seed: number;
  count: number;
  /** A class index or a class name (resolved once the model's classes are known). */
  label: string | null;
  cols: number | null;
  /** Null: about 84 px per image (3x for the digits). */
  scale: number | null;
  ort: string | undefined;
}

function intAttr(el: Element, name: string, min: number, max: number): number | null {
  const raw = el.getAttribute(name);
  if (raw === null || raw.trim() === '') return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`attribute ${name}="${raw}" must be an integer from ${min} to ${max}`);
  return n;
}

export class OnnxGanElement extends HTMLElement {
  static observedAttributes = ['src', 'label', 'seed', 'count', 'columns', 'scale', 'ort'];

  /** The last successful render: images, labels, timing and the seed used. */
  result: (Generated & { seed: number }) | null = null;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly alert: HTMLElement;
  private pending = false;
  private renderId = 0;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML =
      `<figure part="figure"><canvas part="canvas" role="img" width="0" height="0"></canvas><div ` +
      `role="alert" part="error"></div><figcaption part="caption" aria-live="polite"></figcaption></figure>`;
    this.canvas = root.querySelector('canvas')!;
    this.caption = root.querySelector('figcaption')!;
    this.alert = root.querySelector('[role=alert]')!;
    adoptStyle(root);
  }

  connectedCallback(): void {
    this.scheduleRender();
  }

  attributeChangedCallback(_name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue !== newValue && this.isConnected) this.scheduleRender();
  }

  /** Renders again (a new random seed when the element has no seed attribute). */
  refresh(): void {
    this.scheduleRender();
  }

  /** Several attribute changes in one task cause one render. */
  private scheduleRender(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      void this.render();
    });
  }

  private parse(): Parsed {
    const src = this.getAttribute('src');
    if (!src) throw new Error('missing src attribute: the URL of an onnxgan .onnx model');
    return {
      src,
      seed: intAttr(this, 'seed', 0, 0xffffffff) ?? randomSeed(),
      count: intAttr(this, 'count', 1, MAX_COUNT) ?? 8,
      label: this.getAttribute('label')?.trim() || null,
      cols: intAttr(this, 'columns', 1, MAX_COUNT),
      scale: intAttr(this, 'scale', 1, 16),
      ort: this.getAttribute('ort') ?? undefined,
    };
  }

  private setState(state: 'loading' | 'ready' | 'error'): void {
    this.dataset.state = state;
    this.toggleAttribute('aria-busy', state === 'loading');
  }

  private async render(): Promise<void> {
    const id = ++this.renderId;
    this.setState('loading');
    let generator: Generator | null = null;
    try {
      const p = this.parse();
      if (!this.result) this.caption.textContent = 'loading model…';
      const onProgress = (bytes: number): void => {
        if (id === this.renderId && !this.result) this.caption.textContent = `loading model… ${(bytes / 1e6).toFixed(1)} MB`;
      };
      generator = await loadGenerator(p.src, { runtime: p.ort, onProgress });
      if (id !== this.renderId) return;
      if (!generator.conditional && p.label !== null)
        throw new Error(`label="${p.label}" needs a conditional model; ${p.src} is a ${generator.metadata.kind}`);
      const label = p.label === null ? null : classIndex(generator.classes, p.label);
      const out = await generator.generate({ seed: p.seed, count: p.count, label });
      if (id !== this.renderId) return; // a newer render superseded this one
      drawGrid(this.canvas, out.images, out.count, {
        cols: p.cols ?? defaultColumns(p.count),
        scale: p.scale ?? scaleFor(generator.shape, 84),
        shape: generator.shape,
      });
      const what = generator.conditional
        ? p.label !== null
          ? `class ${generator.classes[label!]}`
          : 'one class after another'
        : generator.metadata.kind;
      this.canvas.setAttribute('aria-label', `${out.count} generated image${out.count > 1 ? 's' : ''}, ${what}, seed ${p.seed}`);
      this.caption.textContent = `${what} · seed ${p.seed} · ${out.ms.toFixed(1)} ms`;
      this.alert.textContent = '';
      this.result = { ...out, seed: p.seed };
      this.setState('ready');
      this.dispatchEvent(new CustomEvent('render', { detail: this.result }));
    } catch (e) {
      if (id !== this.renderId) return;
      const message = (e as Error).message || String(e);
      this.alert.textContent = message;
      this.caption.textContent = '';
      drawMessage(this.canvas, generator ? 'generation failed' : 'model failed to load');
      this.result = null;
      this.setState('error');
      this.dispatchEvent(new CustomEvent('error', { detail: { message } }));
    }
  }
}

if (!customElements.get('onnx-gan')) customElements.define('onnx-gan', OnnxGanElement);

declare global {
  interface HTMLElementTagNameMap {
    'onnx-gan': OnnxGanElement;
  }
}
