import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helmBinary } from './helm-binary.js';
import { schemaErrors } from './kubernetes-schemas.js';
import { KUBE_VERSION, find, parseManifests, podSpec } from './render.js';

/**
 * The README's "Deploy on Kubernetes" install command, run as written by bash, with `helm
 * install` turned into `helm template` (no cluster here) and `kubectl` a no-op: if the command an
 * operator copies stops rendering, or stops giving the API what it needs, this fails.
 */
function installBlock(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = /^## Deploy on Kubernetes\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README has no "## Deploy on Kubernetes" section');
  const block = [...section.matchAll(/```bash\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .find((b) => b.includes('helm install'));
  if (!block) throw new Error('the section has no bash block with `helm install`');
  return block;
}

it('renders the README install command into pods that get their image, secrets and config', async () => {
  const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  try {
    const script = [
      'set -euo pipefail',
      'kubectl() { :; }',
      `helm() { [ "$1" = install ] || exit 64; shift; "$HELM_BIN" template "$@" --kube-version ${KUBE_VERSION}; }`,
      installBlock(),
    ].join('\n');
    const out = execFileSync('bash', ['-c', script], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_BIN: helmBinary(),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_DATA_HOME: join(home, 'data'),
      },
    });
    const manifests = parseManifests(out);
    expect(await schemaErrors(manifests)).toEqual([]);
    const api = find(manifests, 'Deployment', 'mm-model-marketplace-api');
    expect(podSpec(api).containers[0].image).toBe('registry.example.com/model-marketplace:0.1.0');
    const secret = find(manifests, 'Secret', 'mm-model-marketplace').stringData as Record<string, string>;
    expect(secret.DATABASE_URL).toMatch(/^postgresql:\/\//);
    expect(secret.REDIS_URL).toMatch(/^redis:\/\//);
    // `openssl rand -base64 32` ran: 32 random bytes after the key id.
    expect(Buffer.from(secret.JWT_SECRET.replace(/^k1:/, ''), 'base64')).toHaveLength(32);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
