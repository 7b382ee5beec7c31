// What the page and the server agree on (imported by both, so it carries no Node code).

/** The header every state-changing request carries: a cross-site form or image cannot set it. */
export const REQUEST_HEADER = 'x-coxswain-request';
