// Property tests draw new cases on every run, so a developer's runs keep exploring. In CI
// (CI=true) they draw the same cases every time, so a landing never depends on the luck of a
// draw; COXSWAIN_FC_SEED picks another fixed seed, and a soak (COXSWAIN_MODEL_RUNS) explores.
import fc from 'fast-check';

const seed = process.env.COXSWAIN_FC_SEED ?? (process.env.CI ? '20261201' : undefined);
if (seed !== undefined) fc.configureGlobal({ seed: Number(seed) });
