// The judge behind train's quality estimates (train/quality-probe.ts): the report judge for mnist
// and fashion, the folder's own judge when eval has trained one; the run's held-out split is the
// reference, scored once when the probe opens. No spreads: a few hundred samples rank epochs.
import { existsSync } from 'node:fs';
import { imageValues } from '../common/metadata.js';
import { matrixProducts } from '../backend/ort-matmul.js';
import type { OpenQualityProbe, QualityProbe } from '../train/quality-probe.js';
import { judgePath } from './judge.js';
import { loadJudge } from './judges.js';
import { folderJudgeFile } from './folder-judge.js';
import { prepareReference, scoreSet } from './score.js';

export const openQualityProbe: OpenQualityProbe = async ({ data, heldOut, shape, classes, holdout, log }) => {
  const file =
    data === 'mnist' || data === 'fashion'
      ? judgePath('report', data)
      : holdout !== undefined
        ? folderJudgeFile(heldOut.name, holdout)
        : null;
  if (!file || !existsSync(file)) {
    log(
      `quality: no judge for these images yet, so no FID estimates while training (\`onnxgan eval\` of an ` +
        `exported model trains and caches one; later runs on the same images use it)`,
    );
    return null;
  }
  const judge = await loadJudge(file, data);
  const k = judge.classes.length;
  if (judge.imageShape.join() !== shape.join() || k !== classes.length) {
    log(`quality: the judge ${file} reads ${judge.imageShape.join('x')} images of ${k} classes, not these: no estimates`);
    await judge.release();
    return null;
  }
  const gemm = matrixProducts();
  const held = await judge.predict(heldOut.images.subarray(0, heldOut.count * imageValues(shape)), heldOut.count);
  const reference = await prepareReference(gemm, { ...held, labels: heldOut.labels }, k);
  const probe: QualityProbe = {
    what: `the ${judge.role} judge (${file}) against ${heldOut.count} held-out images`,
    async estimate(images, count, labels) {
      const out = await judge.predict(images, count);
      const m = await scoreSet(gemm, { ...out, labels }, reference, k, { bootstrap: 0, seed: 0 });
      return { fid: m.fid ?? NaN, kid: m.kid ?? NaN, ...(m.accuracy !== null ? { classAccuracy: m.accuracy } : {}) };
    },
    release: () => judge.release(),
  };
  return probe;
};
