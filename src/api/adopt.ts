// spec.adopt: the explicit consent to take over exactly these existing objects (src/adopt/ makes
// the Microservice that says it; the NameConflict rule stays for every object not named here).
import { z } from 'zod';
import { Name, type Rule } from './rules.js';

/** A DNS subdomain, as Deployment and HorizontalPodAutoscaler names are. */
const ObjectName = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS subdomain');

export const Adopt = z.object({
  deployment: ObjectName.describe('The Deployment whose pods the first revision replaces; left at 0 replicas, never deleted.'),
  service: Name.optional().describe('The Service <name> to take over (it must be named like the Microservice); its endpoints never drop.'),
  hpa: ObjectName.optional().describe('The HorizontalPodAutoscaler of the Deployment, removed once the Microservice has its own.'),
});

type Named = { name: string; spec: { adopt?: { service?: string } } };

/** At the CRD's root, where metadata.name is in reach: the Service taken over is the Microservice's `<name>`. */
export const ADOPT_NAME_RULE: Rule<Named> = {
  rule: '!has(self.spec.adopt) || !has(self.spec.adopt.service) || self.spec.adopt.service == self.metadata.name',
  message: 'adopt.service must be named like the Microservice: the Service taken over becomes its Service <name>',
  fieldPath: '.spec.adopt.service',
  holds: ({ name, spec }: Named) => spec.adopt?.service === undefined || spec.adopt.service === name,
};
