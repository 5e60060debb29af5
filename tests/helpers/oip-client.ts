// A small Open Inference Protocol (KServe v2) REST client written from the specification
// (inference_rest.md) and Triton's binary tensor data extension (extension_binary_data.md), not
// from the server's code: requests as the spec shows them, binary tensors appended after the JSON
// header in input order with Inference-Header-Content-Length, responses split the same way.

export type Datatype =
  'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';
export type Parameters = Record<string, string | number | boolean>;

export interface ClientInput {
  name: string;
  shape: number[];
  datatype: Datatype;
  /** JSON data (flat or nested), or raw little-endian bytes sent with the binary extension. */
  data?: unknown[];
  binary?: Uint8Array;
  parameters?: Parameters;
}

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: number[];
  /** The output's bytes when it came as binary data. */
  binary?: Buffer;
}

export interface InferResult {
  status: number;
  headers: Headers;
  /** The JSON object (inference response, or {"error": ...}). */
  json: { model_name?: string; model_version?: string; id?: string; outputs?: ResponseOutput[]; error?: string; [k: string]: unknown };
}

/** Little-endian bytes of typed values, as the binary extension lays them out. */
export function le(type: 'FP32' | 'INT64', values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * (type === 'FP32' ? 4 : 8));
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (type === 'FP32') view.setFloat32(i * 4, values[i]!, true);
    else view.setBigInt64(i * 8, BigInt(values[i]!), true);
  }
  return out;
}

export class OipClient {
  constructor(private readonly base: string) {}

  get(path: string): Promise<Response> {
    return fetch(`${this.base}${path}`);
  }

  /**
   * POST v2/models/${model}[/versions/${version}]/infer. Inputs with `binary` go as binary data
   * (parameters.binary_data_size); `outputs` may ask for binary data per output.
   */
  async infer(
    model: string,
    request: {
      id?: string;
      parameters?: Parameters;
      inputs: ClientInput[];
      outputs?: { name: string; parameters?: Parameters }[];
      [k: string]: unknown;
    },
    version?: string,
  ): Promise<InferResult> {
    const blobs: Uint8Array[] = [];
    const inputs = request.inputs.map(({ binary, ...i }) => {
      if (!binary) return i;
      blobs.push(binary);
      return { ...i, parameters: { ...i.parameters, binary_data_size: binary.length } };
    });
    const header = Buffer.from(JSON.stringify({ ...request, inputs }));
    const path = `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/infer`;
    const headers: Record<string, string> = blobs.length
      ? { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) }
      : { 'Content-Type': 'application/json' };
    const res = await fetch(`${this.base}${path}`, { method: 'POST', headers, body: Buffer.concat([header, ...blobs]) });
    return { status: res.status, headers: res.headers, json: parseResponse(Buffer.from(await res.arrayBuffer()), res.headers) };
  }

  /** Sends a body as is (for requests the client would never build). */
  async raw(
    model: string,
    body: Buffer | string,
    headers: Record<string, string> = { 'Content-Type': 'application/json' },
  ): Promise<InferResult> {
    const res = await fetch(`${this.base}/v2/models/${model}/infer`, { method: 'POST', headers, body });
    return { status: res.status, headers: res.headers, json: parseResponse(Buffer.from(await res.arrayBuffer()), res.headers) };
  }
}

/** The JSON object, with each binary output's bytes cut from what follows it, in output order. */
export function parseResponse(body: Buffer, headers: Headers): InferResult['json'] {
  const length = headers.get('inference-header-content-length');
  const jsonEnd = length === null ? body.length : Number(length);
  const json = JSON.parse(body.subarray(0, jsonEnd).toString('utf8')) as InferResult['json'];
  let offset = jsonEnd;
  for (const o of json.outputs ?? []) {
    const size = o.parameters?.binary_data_size;
    if (typeof size === 'number') {
      o.binary = body.subarray(offset, offset + size);
      offset += size;
    }
  }
  if (offset !== body.length) throw new Error(`response has ${body.length - offset} bytes after its tensors`);
  return json;
}

/** FP32 values of a binary output. */
export const fp32 = (b: Buffer): Float32Array => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Float32Array.from({ length: b.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
};
