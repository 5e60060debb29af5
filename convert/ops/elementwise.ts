// Elementwise ops with numpy broadcasting (tfjs and ONNX broadcast alike), keeping NCHW storage when
// every operand can follow it: NCHW values, scalars and constants (re-laid out once, at conversion).
import type { Attr } from '../../common/onnx-graph.js';
import { permute, TO_NCHW, type DType, type Emitter, type Shape, type Value } from '../emitter.js';

/** x laid out like `nchw`, or null when that needs a node (a computed tensor of lower rank). */
function aligned(e: Emitter, x: Value, nchw: boolean): Value | null {
  if (x.nchw === nchw) return x;
  if (!nchw) return e.logical(x);
  if (x.constant) {
    const c = x.constant;
    if (c.data.length === 1 || x.rank === 0) return x;
    if (x.rank <= 4) {
      const padded = { ...c, shape: [...new Array<number>(4 - c.shape.length).fill(1), ...c.shape] };
      return e.constant(permute(padded, TO_NCHW), 'nchw_const');
    }
  }
  if (x.rank === 4) return e.toNchw(x);
  if (x.rank === 0) return x;
  return null;
}

/** An elementwise op over `xs`; `out` is the tfjs result (its shape, and its dtype if not the first operand's). */
export function elementwise(
  e: Emitter,
  op: string,
  xs: Value[],
  out: { shape: Shape; dtype?: DType },
  attrs: Record<string, Attr> = {},
): Value {
  const dtype = out.dtype ?? xs[0]!.dtype;
  if (out.shape.length === 4 && xs.some((x) => x.nchw)) {
    const moved = xs.map((x) => aligned(e, x, true));
    if (moved.every((m) => m !== null)) return e.op(op, moved as Value[], attrs, { dtype, shape: out.shape, nchw: true });
  }
  return e.op(
    op,
    xs.map((x) => e.logical(x)),
    attrs,
    { dtype, shape: out.shape },
  );
}

/** Binary op of x with a float constant (scalar or broadcastable), x's shape and layout. */
export function withScalar(e: Emitter, op: string, x: Value, value: number): Value {
  return elementwise(e, op, [x, e.floats([value], [])], { shape: x.shape });
}

/**
 * x * scale + shift per channel along tfjs axis `axis` (inference BatchNormalization folded into
 * one multiply and one add).
 */
export function channelAffine(e: Emitter, x: Value, scale: Float32Array, shift: Float32Array, axis: number, hint: string): Value {
  const a = axis < 0 ? axis + x.rank : axis;
  const shape = [scale.length, ...new Array<number>(x.rank - 1 - a).fill(1)];
  const scaled = elementwise(e, 'Mul', [x, e.floats(scale, shape, `${hint}/scale`)], { shape: x.shape });
  return elementwise(e, 'Add', [scaled, e.floats(shift, shape, `${hint}/shift`)], { shape: x.shape });
}
