import type { Config } from './config.js';
import { ModelService } from './catalog/model.service.js';

/** Every service, wired once from the config (plain factories: no container). */
export function createServices(config: Pick<Config, 'maxPageSize'>) {
  return {
    models: new ModelService({ maxPageSize: config.maxPageSize }),
  };
}

export type Services = ReturnType<typeof createServices>;
