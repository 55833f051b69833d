// graphql-ws subscribers in a process of their own (bench/scenarios/subscriber-fanout.bench.ts
// starts a few), so that receiving and parsing thousands of messages never shares an event loop
// with the publisher's clock or with the other subscribers' processes. Driven over IPC:
//   parent → {type:'arm', round}      child → {type:'armed', round}
//   child  → {type:'live'}            once every socket has had one event (warm-up)
//   child  → {type:'done', round, times}  when every socket has the round's event; `times` are
//            receipt times as performance.timeOrigin + performance.now() (the parent's clock too)
//   parent → {type:'close'}           the child closes its sockets and exits
import WebSocket from 'ws';

const { url, authorization, count } = JSON.parse(process.argv[2]);
const got = new Uint8Array(count);
let liveSent = false;
let round = -1;
let times = [];
const now = () => performance.timeOrigin + performance.now();
const sockets = [];

function connect(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    sockets.push(ws);
    const timer = setTimeout(() => reject(new Error(`subscriber ${i}: no ack in 60 s`)), 60_000);
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    ws.on('message', (raw) => {
      const at = now();
      const m = JSON.parse(raw.toString());
      if (m.type === 'connection_ack') {
        clearTimeout(timer);
        ws.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: 'subscription { myPredictionEvents { id status } }' },
          }),
        );
        resolve();
      } else if (m.type === 'next') {
        got[i] = 1;
        if (round >= 0) {
          times.push(at);
          if (times.length === count) {
            process.send({ type: 'done', round, times });
            round = -1;
            times = [];
          }
        } else if (!liveSent && got.every((g) => g === 1)) {
          liveSent = true;
          process.send({ type: 'live' });
        }
      } else if (m.type === 'error') reject(new Error(`subscriber ${i}: ${raw.toString()}`));
    });
  });
}

process.on('message', (m) => {
  if (m.type === 'arm') {
    round = m.round;
    times = [];
    process.send({ type: 'armed', round });
  } else if (m.type === 'close') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});

for (let i = 0; i < count; i += 250) {
  await Promise.all(Array.from({ length: Math.min(250, count - i) }, (_, k) => connect(i + k)));
}
process.send({ type: 'ready' });
