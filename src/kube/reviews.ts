// TokenReview and SubjectAccessReview: the API server says who a bearer token belongs to and what
// that user may do. Used by the /metrics server (src/metrics/auth.ts); needs the
// system:auth-delegator ClusterRole (create tokenreviews and subjectaccessreviews).
import type { KubeClient } from './client.js';
import type { Reviewer, UserInfo } from '../metrics/auth.js';

interface TokenReviewStatus { authenticated?: boolean; user?: UserInfo; error?: string }
interface AccessReviewStatus { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string }

export function kubeReviewer(client: KubeClient): Reviewer {
  return {
    async authenticate(token) {
      const review = await client.request<{ status?: TokenReviewStatus }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const s = review.status;
      return s?.authenticated && s.user?.username ? s.user : undefined;
    },
    async authorize(user, verb, path) {
      const review = await client.request<{ status?: AccessReviewStatus }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        body: {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
          spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path, verb } },
        },
      });
      return { allowed: review.status?.allowed === true, ...(review.status?.reason ? { reason: review.status.reason } : {}) };
    },
  };
}
