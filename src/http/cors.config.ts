/**
 * Which browser origins may call the API (`CORS_ORIGINS`): exact origins, any origin (`*`), and,
 * when the variable is unset outside production, any localhost origin on any port (a front end's
 * dev server). Production allows none unless listed.
 */
export type CorsPolicy = {
  anyOrigin: boolean;
  origins: readonly string[];
  localhost: boolean;
};

/** Parses `CORS_ORIGINS`. @throws Error with a message fit for the config error (it names no variable). */
export function corsPolicyFrom(raw: string | undefined, env: 'development' | 'test' | 'production'): CorsPolicy {
  if (raw === undefined) return { anyOrigin: false, origins: [], localhost: env !== 'production' };
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.includes('*')) {
    if (entries.length > 1) throw new Error('"*" allows every origin and cannot be combined with a list');
    return { anyOrigin: true, origins: [], localhost: false };
  }
  for (const entry of entries) {
    let origin: string;
    try {
      const url = new URL(entry);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      origin = url.origin;
    } catch {
      throw new Error(`"${entry}" is not an origin: write scheme://host[:port], e.g. https://app.example.com`);
    }
    // Browsers send the origin serialized exactly this way; anything else would never match.
    if (origin !== entry) throw new Error(`"${entry}" is not an exact origin: write it as ${origin}`);
  }
  return { anyOrigin: false, origins: entries, localhost: false };
}
