import { z } from 'zod';

/** A URL whose scheme is one of `protocols` (e.g. `['postgres:', 'postgresql:']`). */
export const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );
