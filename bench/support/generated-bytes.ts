import { Readable } from 'node:stream';

export const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(MB, 0x5a);

/** `sizeMb` MiB generated on the fly, one reused 1 MiB chunk at a time: nothing is held. */
export const generated = (sizeMb: number) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < sizeMb; i++) yield CHUNK;
    })(),
  );
