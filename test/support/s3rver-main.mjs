// An S3-compatible server (s3rver) in a process of its own, as the storage tests' harness: it
// serves `bucket` from `dir` on a free loopback port and prints {"port": …} once it listens.
// Its own process keeps its logger's exception handlers and its CPU away from the test runner.
import S3rver from 's3rver';

const [dir, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.on('SIGTERM', () => {
  server.close().finally(() => process.exit(0));
});
