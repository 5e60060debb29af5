// The one way Node opens an onnxruntime session: a model's bytes and a named profile of
// common/ort-profiles.ts (serve, check, judge, gemm).
import * as ort from 'onnxruntime-node';
import { SESSION_PROFILES, type SessionProfile } from '../common/ort-profiles.js';

export type NodeProfile = Exclude<SessionProfile, 'web'>;

export function openSession(model: Uint8Array, profile: NodeProfile): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, SESSION_PROFILES[profile]);
}
