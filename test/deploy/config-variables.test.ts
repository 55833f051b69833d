import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';
import { appServices, dockerfileEnv, interpolate, readCompose, serviceEnvironment } from './deployment-files.js';

/**
 * A variable the config does not know is ignored without a word (zod drops unknown keys), so a
 * misspelt name in a deployment file silently falls back to a default — compose once passed
 * JWT_SECRET_KEYS, which nothing reads, and the production API refused to start without a key.
 */
const NOT_FOR_THE_APP = new Set([
  // Read by the NVIDIA container runtime, not by the app.
  'NVIDIA_VISIBLE_DEVICES',
  'NVIDIA_DRIVER_CAPABILITIES',
  // Read by onnxruntime-node's install script during `npm ci` in the image build.
  'ONNXRUNTIME_NODE_INSTALL',
]);
const known = new Set(CONFIG_VARIABLES);

it('knows every variable docker-compose.yml passes to the app services', () => {
  const compose = readCompose();
  const services = appServices(compose);
  expect(services.map(([name]) => name).sort()).toEqual(['api', 'worker', 'worker-gpu']);
  const unknown = services.flatMap(([name, s]) =>
    Object.keys(s.environment ?? {})
      .filter((k) => !known.has(k) && !NOT_FOR_THE_APP.has(k))
      .map((k) => `${name}: ${k}`),
  );
  expect(unknown).toEqual([]);
});

it('knows every variable the Dockerfile sets', () => {
  const stages = dockerfileEnv();
  expect(Object.keys(stages)).toEqual(expect.arrayContaining(['runtime', 'gpu']));
  const unknown = Object.entries(stages).flatMap(([stage, env]) =>
    Object.keys(env)
      .filter((k) => !known.has(k) && !NOT_FOR_THE_APP.has(k))
      .map((k) => `${stage}: ${k}`),
  );
  expect(unknown).toEqual([]);
});

it('starts in production with the compose environment and the documented signing key, and refuses without one', () => {
  const { services } = readCompose();
  const image = dockerfileEnv().runtime;
  for (const name of ['api', 'worker']) {
    const withKey = { ...image, ...serviceEnvironment(services[name], { JWT_SECRET: `k1:${'x'.repeat(43)}` }) };
    expect(loadConfig(withKey).env).toBe('production');
    const withoutKey = { ...image, ...serviceEnvironment(services[name], {}) };
    expect(() => loadConfig(withoutKey)).toThrow(/JWT_PRIVATE_KEYS: required in production/);
  }
});

it('interpolates like compose does', () => {
  const env = { A: 'a', EMPTY: '' };
  expect(interpolate('${A}-${B:-b}-${EMPTY:-e}-${EMPTY-e}-$A-$$A', env)).toBe('a-b-e--a-$A');
  expect(() => interpolate('${B:?set B}', env)).toThrow(/B is required: set B/);
});
