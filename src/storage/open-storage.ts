import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import { LocalModelStorage, type ModelStorage } from './model-storage.js';
import { S3ModelStorage } from './s3-storage.js';

/** The configured store (MODEL_STORAGE): the local folder, or the bucket and a cache of it. */
export function openStorage(config: Pick<Config, 'storage'>, logger: Logger): ModelStorage {
  const s = config.storage;
  if (s.kind === 'local') return new LocalModelStorage(s.dir);
  return new S3ModelStorage(s, { logger: logger.child({ component: 'storage' }) });
}
