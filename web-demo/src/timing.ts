// User Timing measures of the load steps (`onnx-gan:NAME`), so DevTools' Performance panel and
// bench/web-load.ts show where the time to the first images goes.

/** Awaits `work`, recorded as the measure `onnx-gan:NAME` whether it succeeds or fails. */
export async function measured<T>(name: string, work: Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work;
  } finally {
    performance.measure(`onnx-gan:${name}`, { start, end: performance.now() });
  }
}
