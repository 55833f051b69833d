import { randomUUID } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../db/database.js';
import type { Logger } from '../shared/logger.js';
import { ModelVersionStatus, Role } from '../entities/enums.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import { Model } from '../entities/model.entity.js';
import { User } from '../entities/user.entity.js';
import { readModelSignature } from '../inference/model-signature.js';
import type { ModelStorage } from '../storage/model-storage.js';
import {
  DEMO_CONSUMERS,
  DEMO_MODELS,
  DEMO_PASSWORD,
  DEMO_PUBLISHERS,
  type DemoArtifact,
  type DemoModel,
} from './seed-data.js';

export type SeedReport = { users: number; models: number; versions: number; ms: number };

/**
 * Appends a `doc_string` (ModelProto field 6) to a serialized model. Protobuf keeps the last
 * value of a repeated singular field, so the result is the same valid model with a distinct
 * checksum — each demo version gets its own bytes, as real uploads would.
 */
function withDocString(bytes: Uint8Array, text: string): Uint8Array {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length > 127) throw new Error('doc string too long for a one-byte length');
  return Buffer.concat([bytes, Buffer.from([(6 << 3) | 2, payload.length]), payload]);
}

function semverParts(version: string) {
  const [core, prerelease] = version.split('-', 2) as [string, string | undefined];
  const [major, minor, patch] = core.split('.').map(Number) as [number, number, number];
  return { major, minor, patch, prerelease: prerelease ?? null };
}

/**
 * Loads the demo catalog (`seed-data.ts`). Idempotent: users are found by email, models by slug,
 * versions by (model, version); running it again adds nothing and trains nothing. Models that
 * are missing are built (the real ones trained) before the transaction opens, so no database
 * transaction waits on training.
 */
export async function seedDemoCatalog(rootEm: EntityManager, storage: ModelStorage): Promise<SeedReport> {
  const started = performance.now();
  const report: SeedReport = { users: 0, models: 0, versions: 0, ms: 0 };
  const present = new Set(
    (await rootEm.fork().find(Model, { slug: { $in: DEMO_MODELS.map((m) => m.slug) } }, { fields: ['slug'] })).map(
      (m) => m.slug,
    ),
  );
  const artifacts = new Map<string, DemoArtifact>();
  const artifactOf = (spec: DemoModel) => {
    if (!artifacts.has(spec.slug)) artifacts.set(spec.slug, spec.artifact());
    return artifacts.get(spec.slug)!;
  };
  for (const spec of DEMO_MODELS) if (!present.has(spec.slug)) artifactOf(spec);
  const passwordHash = await hash(DEMO_PASSWORD);

  await rootEm.fork().transactional(async (em) => {
    const users = new Map<string, User>();
    for (const [list, role] of [
      [DEMO_PUBLISHERS, Role.PUBLISHER],
      [DEMO_CONSUMERS, Role.CONSUMER],
    ] as const) {
      for (const u of list) {
        let user = await em.findOne(User, { email: u.email });
        if (!user) {
          user = em.create(User, { email: u.email, passwordHash, displayName: u.displayName, role });
          report.users++;
        }
        users.set(u.key, user);
      }
    }
    await em.flush();

    for (const spec of DEMO_MODELS) {
      let model = await em.findOne(Model, { slug: spec.slug });
      if (!model) {
        model = em.create(Model, {
          owner: users.get(spec.owner)!,
          slug: spec.slug,
          name: spec.name,
          description: artifactOf(spec).description,
          tags: spec.tags,
          task: spec.task,
          license: spec.license,
          pricePerRequest: spec.pricePerRequest,
          freeRequestsPerMonth: spec.freeRequestsPerMonth,
        });
        report.models++;
        await em.flush();
      }
      let latest: ModelVersion | null = null;
      for (const v of spec.versions) {
        let version = await em.findOne(ModelVersion, { model, version: v.version });
        if (!version) {
          const id = randomUUID();
          const storageKey = `models/${model.id}/${id}.onnx`;
          const bytes = withDocString(artifactOf(spec).bytes, `${spec.slug} ${v.version}`);
          const stored = await storage.putBytes(storageKey, bytes);
          const signature = await readModelSignature(await storage.localPath(storageKey));
          version = em.create(ModelVersion, {
            id,
            model,
            version: v.version,
            ...semverParts(v.version),
            status: ModelVersionStatus.READY,
            sizeBytes: stored.sizeBytes,
            sha256: stored.sha256,
            storageKey,
            inputs: signature.inputs,
            outputs: signature.outputs,
            changelog: v.changelog,
            metadata: artifactOf(spec).metadata ?? null,
            readyAt: new Date(),
          });
          report.versions++;
          await em.flush();
        }
        latest = version;
      }
      if (latest && !model.defaultVersion) model.defaultVersion = latest;
      await em.flush();
    }
  });
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** Seeds at start when SEED_ON_START says so (`auto`: the embedded database's first start). */
export async function seedIfWanted(deps: {
  seedOnStart: 'auto' | 'true' | 'false';
  db: Database;
  storage: ModelStorage;
  logger: Logger;
}): Promise<void> {
  const { seedOnStart, db } = deps;
  if (seedOnStart === 'false') return;
  if (seedOnStart === 'auto') {
    if (!db.embedded) return;
    if ((await db.orm.em.fork().count(User, {})) > 0) return;
  }
  const report = await seedDemoCatalog(db.orm.em.fork(), deps.storage);
  deps.logger.info({ seed: report }, 'demo catalog seeded');
}
