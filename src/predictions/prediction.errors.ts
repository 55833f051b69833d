import { badInput } from '../shared/errors.js';

/** Why a prediction was refused before it ran, as `extensions.reason` beside BAD_USER_INPUT. */
export const PredictionRefusal = {
  VERSION_NOT_READY: 'VERSION_NOT_READY',
  NO_DEFAULT_VERSION: 'NO_DEFAULT_VERSION',
  DEFAULT_VERSION_DEPRECATED: 'DEFAULT_VERSION_DEPRECATED',
} as const;

export const predictionErrors = {
  versionNotReady: (version: string, status: string) =>
    badInput(`version ${version} is ${status}, not READY: it cannot run predictions`, {
      reason: PredictionRefusal.VERSION_NOT_READY,
      status,
    }),
  noDefaultVersion: () =>
    badInput('this model has no default version yet: pass `version`', { reason: PredictionRefusal.NO_DEFAULT_VERSION }),
  defaultDeprecated: (version: string) =>
    badInput(`the default version ${version} is deprecated: pass \`version\` to run it anyway, or pick another`, {
      reason: PredictionRefusal.DEFAULT_VERSION_DEPRECATED,
    }),
};
