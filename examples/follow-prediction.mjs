// Queues a prediction and follows it live over graphql-ws, as a front end would:
//
//   MM_TOKEN=<access token or aimpk_ API key> node examples/follow-prediction.mjs [model-slug]
//
// MM_URL defaults to http://localhost:4000/graphql. The model defaults to the demo catalog's
// iris-species, fed one flower (sepal and petal lengths and widths in cm); another model needs its
// own input: pass it as JSON in MM_INPUTS ([{ "name", "dtype", "shape", "data" }]).
// Runs on Node 18 or later with this repository's dependencies (graphql-ws, ws).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = process.env.MM_URL ?? 'http://localhost:4000/graphql';
const token = process.env.MM_TOKEN;
const slug = process.argv[2] ?? 'iris-species';
const inputs = process.env.MM_INPUTS
  ? JSON.parse(process.env.MM_INPUTS)
  : [{ name: 'features', dtype: 'float32', shape: [1, 4], data: [6.4, 3.2, 4.5, 1.5] }];
if (!token) {
  console.error('Set MM_TOKEN to an access token (login) or an API key (createApiKey).');
  process.exit(2);
}

async function graphql(query, variables) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('\n'));
  return body.data;
}

const { model } = await graphql('query($slug: String!) { model(slug: $slug) { id name } }', { slug });
const { createPrediction } = await graphql(
  'mutation($input: CreatePredictionInput!) { createPrediction(input: $input) { id status queuePosition } }',
  { input: { modelId: model.id, inputs } },
);
const started = Date.now();
console.log(`queued ${createPrediction.id} on ${model.name} (position ${createPrediction.queuePosition ?? '-'})`);

const client = createClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 3,
});
const final = await new Promise((resolve, reject) => {
  let last;
  client.subscribe(
    {
      query: `subscription($id: ID!) { predictionUpdated(id: $id) {
        status queueTimeMs inferenceTimeMs cost { amount currency } error { code message }
        outputs { name shape data } } }`,
      variables: { id: createPrediction.id },
    },
    {
      next: ({ data, errors }) => {
        if (errors) return reject(new Error(errors.map((e) => e.message).join('\n')));
        last = data.predictionUpdated;
        console.log(`+${String(Date.now() - started).padStart(5)} ms  ${last.status}`);
      },
      error: reject,
      // The stream ends by itself after SUCCEEDED, FAILED or CANCELED.
      complete: () => resolve(last),
    },
  );
});
await client.dispose();
if (final?.status !== 'SUCCEEDED') {
  console.error(`ended ${final?.status}: ${final?.error?.code} ${final?.error?.message}`);
  process.exit(1);
}
for (const o of final.outputs) console.log(`${o.name} ${JSON.stringify(o.shape)} = ${JSON.stringify(o.data)}`);
console.log(
  `queued ${final.queueTimeMs} ms, ran ${final.inferenceTimeMs} ms, cost ${final.cost.amount} ${final.cost.currency}`,
);
