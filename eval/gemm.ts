// Matrix products for the metrics on onnxruntime's CPU GEMM (MLAS): pairwise dot products of
// thousands of feature vectors (KID, nearest neighbours) and the bootstrap's weighted covariances
// take seconds in plain JavaScript and tens of milliseconds here.
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { gemmModel } from '../common/onnx-graph.js';

export class Gemm {
  private constructor(
    private readonly abT: ort.InferenceSession,
    private readonly aTb: ort.InferenceSession,
  ) {}

  static async create(): Promise<Gemm> {
    return new Gemm(await openSession(gemmModel(false, true), 'gemm'), await openSession(gemmModel(true, false), 'gemm'));
  }

  /** A B^T for A [ra, d], B [rb, d] (row-major): [ra, rb]. */
  async dots(a: Float32Array, ra: number, b: Float32Array, rb: number, d: number): Promise<Float32Array> {
    const out = await this.abT.run({ A: new ort.Tensor('float32', a.subarray(0, ra * d), [ra, d]), B: new ort.Tensor('float32', b.subarray(0, rb * d), [rb, d]) });
    return out.Y!.data as Float32Array;
  }

  /** A^T B for A [r, da], B [r, db]: [da, db]. */
  async transposedProduct(a: Float32Array, b: Float32Array, r: number, da: number, db: number): Promise<Float32Array> {
    const out = await this.aTb.run({ A: new ort.Tensor('float32', a, [r, da]), B: new ort.Tensor('float32', b, [r, db]) });
    return out.Y!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.abT.release();
    await this.aTb.release();
  }
}
