import { badInput } from '../shared/errors.js';

export type SemVer = { major: number; minor: number; patch: number; prerelease: string | null };

// semver.org 2.0.0's grammar (its suggested regular expression), build metadata refused: two
// uploads differing only in "+build" would be the same version by the spec's precedence rules.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;
const MAX_PART = 2_147_483_647;

/** Parses `1.2.3` or `1.2.3-rc.1`; anything else is BAD_USER_INPUT. */
export function parseSemver(version: string): SemVer {
  const m = SEMVER.exec(version);
  if (!m || version.length > 64) {
    throw badInput(`"${version}" is not a semantic version such as 1.2.0 or 2.0.0-rc.1`, { field: 'version' });
  }
  const [major, minor, patch] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (major > MAX_PART || minor > MAX_PART || patch > MAX_PART) {
    throw badInput('version numbers must be below 2^31', { field: 'version' });
  }
  return { major, minor, patch, prerelease: m[4] ?? null };
}

/** semver precedence (semver.org §11): negative when a < b, 0 when equal, positive when a > b. */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] - b[k];
  if (a.prerelease === b.prerelease) return 0;
  // A release outranks its prereleases: 1.0.0 > 1.0.0-rc.1.
  if (a.prerelease === null) return 1;
  if (b.prerelease === null) return -1;
  const pa = a.prerelease.split('.');
  const pb = b.prerelease.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d !== 0) return d;
    } else if (na !== nb)
      return na ? -1 : 1; // numeric identifiers rank below alphanumeric ones
    else if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

export const formatSemver = (v: SemVer) =>
  `${v.major}.${v.minor}.${v.patch}${v.prerelease === null ? '' : `-${v.prerelease}`}`;
