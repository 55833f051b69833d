import { Worker } from 'node:worker_threads';

/**
 * A session behind a worker thread (bench/support/thread-hop.worker.mjs), to measure what the
 * pool's process hop costs against the thread hop it replaced, in the same run.
 */
export async function startThreadHop(path: string, input: string, output: string) {
  const worker = new Worker(new URL('./thread-hop.worker.mjs', import.meta.url), {
    workerData: { path, input, output },
  });
  const pending = new Map<number, (data: ArrayBuffer) => void>();
  let nextId = 1;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { ready?: boolean; id?: number; data?: ArrayBuffer }) => {
      if (m.ready) resolve();
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.data!);
        pending.delete(m.id);
      }
    });
  });
  return {
    run(data: ArrayBuffer, dims: number[]): Promise<ArrayBuffer> {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ id, data, dims }, [data]);
      });
    },
    close: () => worker.terminate(),
  };
}
