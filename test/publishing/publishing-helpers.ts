import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { App } from '../../src/app.js';
import type { UploadedFile } from '../../src/catalog/store-upload.js';
import type { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import type { ServiceContext } from '../../src/shared/service-context.js';

export const FIXTURES = 'test/fixtures/models';

/** A service context for `user`, as the auth layer would build it (a fresh fork each time). */
export function ctxFor(app: App, user: User | null, role?: Role): ServiceContext {
  return {
    em: app.db.orm.em.fork(),
    caller: user ? { kind: 'user', userId: user.id, role: role ?? user.role } : { kind: 'anonymous' },
  };
}

export const fixtureFile = (name: string): UploadedFile => ({
  filename: name,
  createReadStream: () => createReadStream(join(FIXTURES, name)),
});

export const bytesFile = (bytes: Uint8Array, filename = 'model.onnx'): UploadedFile => ({
  filename,
  createReadStream: () => Readable.from([Buffer.from(bytes)]),
});

/** Every file under a folder, recursively (to prove an aborted upload left nothing behind). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    /* the folder does not exist yet: no files */
  }
  return out;
}

/** Rejects with the AppError code, or fails the test when the promise resolves. */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? `not an AppError: ${String(err)}`;
  }
  throw new Error('expected a rejection');
}
