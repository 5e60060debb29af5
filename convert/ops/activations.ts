// tfjs activations (layers' `activation` names and the TF ops behind them) as ONNX nodes.
import type { Emitter, Value } from '../emitter.js';
import { elementwise, withScalar } from './elementwise.js';
import { UnsupportedError } from './errors.js';

/** Names as tfjs serialises them (relu, hardSigmoid, gelu_new...), compared case-insensitively. */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hardSigmoid',
  'tanh',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
  'softmax',
  'logSoftmax',
  'leakyrelu',
];

const mul = (e: Emitter, a: Value, b: Value): Value => elementwise(e, 'Mul', [a, b], { shape: a.shape });

/** Clip(x, low, high) with constant bounds. */
export function clip(e: Emitter, x: Value, low: number, high: number | null): Value {
  const bounds = [e.floats([low], []).name, ...(high === null ? [] : [e.floats([high], []).name])];
  return e.op('Clip', [x, ...bounds], {}, { dtype: x.dtype, shape: x.shape, nchw: x.nchw });
}

/** Applies a named activation; `alpha` for leakyrelu. Softmax runs over the last (tfjs) axis. */
export function activation(e: Emitter, x: Value, name: string, where: string, alpha = 0.2): Value {
  switch (name.toLowerCase()) {
    case 'linear':
      return x;
    case 'relu':
      return e.unary('Relu', x);
    case 'relu6':
      return clip(e, x, 0, 6);
    case 'elu':
      return e.unary('Elu', x, { alpha: { f: 1 } });
    case 'selu':
      return e.unary('Selu', x);
    case 'sigmoid':
      return e.unary('Sigmoid', x);
    case 'hardsigmoid':
      return e.unary('HardSigmoid', x, { alpha: { f: 0.2 }, beta: { f: 0.5 } });
    case 'tanh':
      return e.unary('Tanh', x);
    case 'softplus':
      return e.unary('Softplus', x);
    case 'softsign':
      return e.unary('Softsign', x);
    case 'swish':
      return mul(e, x, e.unary('Sigmoid', x));
    case 'mish':
      return mul(e, x, e.unary('Tanh', e.unary('Softplus', x)));
    case 'gelu': {
      // x * 0.5 * (1 + erf(x / sqrt(2))), as tfjs computes it
      const cdf = withScalar(e, 'Mul', withScalar(e, 'Add', e.unary('Erf', withScalar(e, 'Div', x, Math.SQRT2)), 1), 0.5);
      return mul(e, x, cdf);
    }
    case 'gelu_new': {
      const cube = mul(e, mul(e, x, x), x);
      const inner = withScalar(
        e,
        'Mul',
        elementwise(e, 'Add', [x, withScalar(e, 'Mul', cube, 0.044715)], { shape: x.shape }),
        Math.sqrt(2 / Math.PI),
      );
      return withScalar(e, 'Mul', mul(e, x, withScalar(e, 'Add', e.unary('Tanh', inner), 1)), 0.5);
    }
    case 'softmax':
      return e.unary('Softmax', x, { axis: { i: x.storedAxis(-1) } });
    case 'logsoftmax':
      return e.unary('LogSoftmax', x, { axis: { i: x.storedAxis(-1) } });
    case 'leakyrelu':
      return e.unary('LeakyRelu', x, { alpha: { f: alpha } });
    default:
      throw new UnsupportedError(`${where}: unsupported activation "${name}" (supported: ${ACTIVATIONS.join(', ')})`);
  }
}
