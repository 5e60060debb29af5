// Reads an ONNX file's metadata_props in the browser without a protobuf library: walks the top
// level of ModelProto, skipping every field except 14 (metadata_props, StringStringEntryProto).

const METADATA_PROPS = 14;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new Error('truncated varint');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale; // numbers up to 2^53: enough for lengths and tags
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  slice(length: number): Uint8Array {
    const end = this.pos + length;
    if (end > this.bytes.length) throw new Error('truncated field');
    const s = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.slice(8);
    else if (wire === WIRE_LEN) this.slice(this.varint());
    else if (wire === WIRE_I32) this.slice(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function readEntry(bytes: Uint8Array, decoder: TextDecoder): [string, string] {
  const r = new Reader(bytes);
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === WIRE_LEN && field === 1) key = decoder.decode(r.slice(r.varint()));
    else if (wire === WIRE_LEN && field === 2) value = decoder.decode(r.slice(r.varint()));
    else r.skip(wire);
  }
  return [key, value];
}

/** metadata_props of an ONNX model as a plain object; throws when the bytes are not protobuf. */
export function readOnnxMetadataProps(bytes: Uint8Array): Record<string, string> {
  const r = new Reader(bytes);
  const decoder = new TextDecoder();
  const props: Record<string, string> = {};
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === METADATA_PROPS && wire === WIRE_LEN) {
      const [k, v] = readEntry(r.slice(r.varint()), decoder);
      props[k] = v;
    } else {
      r.skip(wire);
    }
  }
  return props;
}
