// Imported first by each command, so it runs before @kubernetes/client-node, which on an older
// Node.js fails inside undici with an error that does not name the cause.
import { nodeProblem } from '../version.js';

const problem = nodeProblem(process.version);
if (problem) {
  process.stderr.write(`coxswain: ${problem}\n`);
  process.exit(1);
}
