import { AppError } from '../shared/errors.js';
import { compareSemver, formatSemver, parseSemver } from './semver.js';

it('parses releases and prereleases', () => {
  expect(parseSemver('1.2.3')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: null });
  expect(parseSemver('0.0.1-rc.1')).toEqual({ major: 0, minor: 0, patch: 1, prerelease: 'rc.1' });
  expect(formatSemver(parseSemver('10.20.30-alpha.beta'))).toBe('10.20.30-alpha.beta');
});

it.each(['1', '1.2', '01.2.3', '1.2.3+build', 'v1.2.3', '1.2.3-', '', '1.2.3-01', '9999999999.0.0'])(
  'refuses %p with BAD_USER_INPUT',
  (v) => {
    expect(() => parseSemver(v)).toThrow(AppError);
  },
);

it('orders by semver precedence (semver.org §11 example chain)', () => {
  const chain = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.1.0',
    '2.0.0',
  ].map(parseSemver);
  for (let i = 0; i + 1 < chain.length; i++) {
    expect(compareSemver(chain[i], chain[i + 1])).toBeLessThan(0);
    expect(compareSemver(chain[i + 1], chain[i])).toBeGreaterThan(0);
  }
  expect(compareSemver(parseSemver('1.0.0'), parseSemver('1.0.0'))).toBe(0);
});
