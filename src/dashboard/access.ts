// Which buttons the user may press: a SelfSubjectAccessReview asks the API server, as the user,
// whether they may patch this Microservice (what every action writes). Kept for a short while.
import type { KubeClient } from '../kube/client.js';
import { deniedReason } from './actions.js';

const TTL_MS = 30_000;

export interface Access {
  allowed: boolean;
  reason?: string;
}

interface Review {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export class AccessReviews {
  private readonly cache = new Map<string, { at: number; access: Access }>();

  constructor(private readonly client: KubeClient) {}

  async mayAct(namespace: string, name: string): Promise<Access> {
    const key = `${namespace}/${name}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.access;
    const review = await this.client.request<Review>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { group: 'coxswain.dev', resource: 'microservices', verb: 'patch', namespace, name } },
      },
    });
    const allowed = review.status?.allowed === true;
    const access: Access = allowed ? { allowed } : { allowed, reason: deniedReason(namespace, name, review.status?.reason || review.status?.evaluationError) };
    this.cache.set(key, { at: Date.now(), access });
    return access;
  }
}
