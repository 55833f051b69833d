// The monthly close by itself (BillingSchedule): it closes the previous month once it is old
// enough, against the real invoicing and database; two replicas ticking at once through one Redis
// lock make the invoices once; a close that fails is logged and retried by the next tick.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { BillingSchedule, processLock, redisLock } from '../../src/billing/billing-schedule.js';
import { InvoiceService } from '../../src/billing/invoice.service.js';
import { MeteringService } from '../../src/billing/metering.service.js';
import { Invoice } from '../../src/entities/invoice.entity.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { BillingFixtures } from './billing-fixtures.js';

let server: TestServer;
let fx: BillingFixtures;
let redis: Redis | undefined;
const metering = new MeteringService({ blockOverdue: false });
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  server = await startTestServer();
  fx = new BillingFixtures(server.app);
  if (process.env.REDIS_URL) redis = new Redis(process.env.REDIS_URL);
}, 120_000);
afterAll(async () => {
  await redis?.quit();
  await server?.close();
});

const at = (iso: string) => () => new Date(iso);

it('knows which month is due: none within the delay after a month ends, then the one before', () => {
  const make = (now: string) =>
    new BillingSchedule({ closePeriod: async () => [] }, () => fx.em(), processLock(), silent, {
      delayMs: 60 * 60_000,
      lockTtlMs: 60_000,
      lockKey: 'k',
      now: at(now),
    });
  expect(make('2026-03-01T00:30:00Z').duePeriod()).toBeNull();
  expect(make('2026-03-01T01:00:00Z').duePeriod()).toBe('2026-02-01');
  expect(make('2026-03-31T23:59:59Z').duePeriod()).toBe('2026-02-01');
  expect(make('2027-01-01T02:00:00Z').duePeriod()).toBe('2026-12-01');
});

it('closes the due month on the real invoices, once, with replicas ticking together', async () => {
  const month = '2025-10';
  const { model, version } = await fx.pricedModel(await fx.publisher(), {
    pricePerRequest: '0.25',
    freeRequestsPerMonth: 0,
  });
  const consumers = [await fx.consumer(), await fx.consumer(), await fx.consumer()];
  for (const c of consumers) await fx.meteredPrediction(metering, c, model, version, new Date(`${month}-15T12:00:00Z`));
  const invoices = new InvoiceService({ daysUntilDue: 30, maxPageSize: 100 });
  let closes = 0;
  const counting = {
    closePeriod: async (...args: Parameters<InvoiceService['closePeriod']>) => {
      closes++;
      // Long enough that the other replica's tick arrives while this one holds the lock.
      await new Promise((r) => setTimeout(r, 200));
      return invoices.closePeriod(...args);
    },
  };
  // Each replica its own lock client, as separate processes would have; one Redis between them.
  const shared = processLock();
  const lockOf = () => (redis ? redisLock(redis) : shared);
  const key = `test:billing-close:${Date.now()}`;
  const replica = () =>
    new BillingSchedule(counting, () => fx.em(), lockOf(), silent, {
      delayMs: 3_600_000,
      lockTtlMs: 60_000,
      lockKey: key,
      now: at('2025-11-02T00:00:00Z'),
    });
  const [a, b] = await Promise.all([replica().tick(), replica().tick()]);
  expect([a, b].filter(Boolean)).toEqual(['2025-10-01']);
  expect(closes).toBe(1);
  const made = await fx.em().find(Invoice, { periodStart: '2025-10-01', user: { $in: consumers.map((c) => c.id) } });
  expect(made.map((i) => i.total).sort()).toEqual(['0.2500000000', '0.2500000000', '0.2500000000']);
  // The next tick (the lock released) runs the idempotent close again and makes nothing new.
  expect(await replica().tick()).toBe('2025-10-01');
  expect(await fx.em().count(Invoice, { periodStart: '2025-10-01', user: { $in: consumers.map((c) => c.id) } })).toBe(
    3,
  );
});

it('logs a failed close and lets the next tick retry it', async () => {
  const warnings: unknown[] = [];
  const logger = {
    ...silent,
    info: () => undefined,
    debug: () => undefined,
    warn: (o: unknown) => void warnings.push(o),
  };
  let fail = true;
  const schedule = new BillingSchedule(
    {
      closePeriod: async () => {
        if (fail) throw new Error('database restarting');
        return [];
      },
    },
    () => fx.em(),
    processLock(),
    logger,
    { delayMs: 0, lockTtlMs: 60_000, lockKey: 'retry', now: at('2025-12-05T00:00:00Z') },
  );
  expect(await schedule.tick()).toBeNull();
  expect(warnings).toHaveLength(1);
  fail = false;
  expect(await schedule.tick()).toBe('2025-11-01');
});
