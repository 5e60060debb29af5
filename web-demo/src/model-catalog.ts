// Which models the page can offer: the server's GET /v1/models, or models.json next to the page
// when web-demo/ is hosted as plain files.

export interface CatalogEntry {
  name: string;
  /** Model URL, relative to the page. */
  src: string;
  kind?: string;
  classes?: string[] | null;
  epochs?: number;
  steps?: number;
  bytes?: number;
  /** Set when the server could not load the model (listed but not selectable). */
  error?: string;
}

type RawEntry = Partial<CatalogEntry> & { name?: string; url?: string; path?: string; file?: string; size?: number };

/** Explicit model URLs are relative to the list; without one the model is at models/NAME.onnx. */
function normalise(raw: RawEntry, listUrl: URL, page: URL): CatalogEntry | null {
  if (!raw.name) return null;
  const explicit = raw.src ?? raw.url ?? raw.file ?? raw.path;
  return {
    name: raw.name,
    src: explicit ? new URL(explicit, listUrl).href : new URL(`models/${encodeURIComponent(raw.name)}.onnx`, page).href,
    kind: raw.kind,
    classes: raw.classes,
    epochs: raw.epochs,
    steps: raw.steps,
    bytes: raw.bytes ?? raw.size,
    ...(raw.error ? { error: raw.error } : {}),
  };
}

async function fetchList(url: URL, page: URL): Promise<CatalogEntry[]> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status}`);
  const body = (await res.json()) as { models?: RawEntry[]; failed?: RawEntry[] } | RawEntry[];
  // The server lists models that failed to load separately, with their error.
  const list = Array.isArray(body)
    ? body
    : [...(body.models ?? []), ...(body.failed ?? []).map((f) => ({ ...f, error: f.error ?? 'failed to load' }))];
  return list.map((m) => normalise(m, url, page)).filter((m): m is CatalogEntry => m !== null);
}

/** The server's model list, else the static models.json; throws with both reasons. */
export async function loadCatalog(): Promise<{ models: CatalogEntry[]; source: string }> {
  const page = new URL(document.baseURI);
  const errors: string[] = [];
  for (const [path, source] of [
    ['v1/models', 'server'],
    ['models.json', 'models.json'],
  ] as const) {
    try {
      return { models: await fetchList(new URL(path, page), page), source };
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(`no model list (${errors.join('; ')})`);
}
