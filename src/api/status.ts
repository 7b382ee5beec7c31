// The Microservice's status: what Coxswain reports, in the shapes kstatus, Argo CD and Flux read.
import { z } from 'zod';
import { AnalysisStatus } from '../analysis/api.js';
import { TrafficStatus } from './traffic.js';

export const PHASES = ['Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded'] as const;
export type Phase = (typeof PHASES)[number];

/** An Event as Coxswain records it. */
export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export const Condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.int().optional(),
});

const SlotStatus = z.object({ revision: z.string().optional(), image: z.string().optional(), replicas: z.int().optional(), readyReplicas: z.int().optional() });

export const AdoptionStatus = z.object({
  deployment: z.string(),
  phase: z.enum(['ScalingDown', 'TakingOverService', 'Done', 'Failed']),
  revision: z.string().optional().describe('The revision the takeover brings up; a new one after a failure starts it again.'),
  replicas: z.int().optional().describe('The old Deployment\'s replicas when the takeover began: where a failed one puts it back.'),
  scaledTo: z.int().optional().describe('What Coxswain last scaled the old Deployment to.'),
  oldReplicas: z.int().optional().describe('The old Deployment\'s spec.replicas as last read.'),
  startedAt: z.string().optional(),
  heldSince: z.string().optional().describe('Since when the Microservice is paused mid-takeover: time held does not count against the progress deadline.'),
  message: z.string().optional(),
  serviceRewrites: z.object({
    manager: z.string().describe('The field manager that last rewrote the taken-over Service, from managedFields.'),
    count: z.int().describe('How many times Coxswain has put it back.'),
    lastPutBack: z.string().describe('When Coxswain last put it back; the next put-back waits twice as long (src/adopt/rewrites.ts).'),
  }).optional().describe('Another field manager rewriting the taken-over Service, put back with a doubling wait rather than fought.'),
});

export const MicroserviceStatus = z.object({
  observedGeneration: z.int().optional(),
  phase: z.enum(PHASES).optional(),
  conditions: z.array(Condition).optional(),
  replicas: z.int().optional(),
  readyReplicas: z.int().optional(),
  updatedReplicas: z.int().optional(),
  availableReplicas: z.int().optional(),
  ready: z.string().optional().describe('Ready pods out of desired, e.g. 3/3 (printer column).'),
  selector: z.string().optional(),
  stableRevision: z.string().optional(),
  desiredRevision: z.string().optional(),
  activeSlot: z.enum(['blue', 'green']).optional(),
  rollout: z.object({
    step: z.int().optional().describe('Index of the current step; steps means the final promotion to 100%.'),
    steps: z.int().optional(),
    strategy: z.enum(['Canary', 'BlueGreen']).optional().describe('The strategy this rollout runs; a switch mid-rollout starts it over.'),
    weight: z.int().optional().describe('Share of Ready pods that run the candidate, in percent.'),
    desiredWeight: z.int().optional(),
    passedWeight: z.int().optional().describe('The weight in force at the step before this one when it was passed: steps edited to ask more there start over.'),
    candidateSlot: z.enum(['blue', 'green']).optional(),
    stepStartedAt: z.string().optional(),
    pausedUntil: z.string().optional(),
    unreadySince: z.string().optional()
      .describe('Since when the candidate has had fewer Ready pods than its step needs; the progress deadline counts from here.'),
    scaleDownAt: z.string().optional().describe('When the slot let go scales to zero: after a promotion, or after a canary\'s abort or undo.'),
    abortedRevision: z.string().optional(),
    previousRevision: z.string().optional().describe('The revision stable before the last promotion: what undo returns to.'),
    paused: z.boolean().optional().describe('Paused by `kubectl coxswain pause`.'),
    heldSince: z.string().optional()
      .describe('Since when the rollout has been held (spec.paused or kubectl coxswain pause): its clocks stand still meanwhile.'),
    message: z.string().optional(),
    analysis: AnalysisStatus.optional().describe('The analyses under way (or the one that aborted the rollout), with their last measurements.'),
  }).optional(),
  lastAction: z.object({ id: z.string(), action: z.string(), at: z.string(), ok: z.boolean(), message: z.string() }).optional()
    .describe('The last action asked for through the coxswain.dev/action annotation, and what came of it.'),
  restartedAt: z.string().optional().describe('Set by the restart action: pods of the serving slot restart.'),
  slots: z.object({ blue: SlotStatus.optional(), green: SlotStatus.optional() }).optional(),
  secrets: z.object({ tracked: z.boolean(), message: z.string() }).optional()
    .describe('With spec.trackSecrets: whether every referenced Secret is in the revision (names and hashes only, never values).'),
  adoption: AdoptionStatus.optional().describe('The takeover of the objects spec.adopt names (src/adopt/takeover.ts).'),
  traffic: TrafficStatus.optional().describe('The HTTPRoute, with spec.traffic.gateway: its live weights and whether its parents accepted it.'),
});

export type MicroserviceStatus = z.output<typeof MicroserviceStatus>;
export type Condition = z.output<typeof Condition>;
export type AdoptionStatus = z.output<typeof AdoptionStatus>;
