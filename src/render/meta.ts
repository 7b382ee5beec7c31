// Metadata of the objects a Microservice owns.
import { API_VERSION, KIND, type Microservice, type ObjectMeta } from '../api/schema.js';
import { baseLabels } from '../api/names.js';

/** Metadata of an owned object: namespace, labels, and a controller reference to the Microservice. */
export function ownedMeta(ms: Microservice, name: string, labels = baseLabels(ms.metadata.name)): ObjectMeta {
  return {
    name,
    namespace: ms.metadata.namespace,
    labels,
    ownerReferences: [
      { apiVersion: API_VERSION, kind: KIND, name: ms.metadata.name, uid: ms.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
    ],
  };
}
