// A Kubernetes object as plain JSON: what the API server returns and what Coxswain applies.
import type { ObjectMeta } from '../api/schema.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}
