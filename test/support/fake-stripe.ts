import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RecordedStripeRequest = {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  /** The form body, flat (`metadata[invoiceId]` keys as the SDK sends them). */
  params: Record<string, string>;
  /** False when the fake answered from its idempotency cache (as Stripe does for a repeat). */
  fresh: boolean;
};

type StripeObject = Record<string, unknown> & { id: string };

/**
 * A stand-in for api.stripe.com: a real HTTP server the official SDK is pointed at
 * (`STRIPE_API_HOST/PORT/PROTOCOL`). It keeps customers, invoice items and invoices in memory,
 * answers with objects shaped like Stripe's, replays the stored answer for a repeated
 * Idempotency-Key (https://docs.stripe.com/api/idempotent_requests), and records every request.
 * `failNext(n)` makes the next n requests fail with a 500, which the SDK retries.
 */
export class FakeStripe {
  readonly requests: RecordedStripeRequest[] = [];
  readonly customers = new Map<string, StripeObject>();
  readonly invoices = new Map<string, StripeObject>();
  readonly invoiceItems = new Map<string, StripeObject>();
  private readonly idempotent = new Map<string, { status: number; body: unknown }>();
  private failures = 0;
  private seq = 0;
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${++this.seq}` });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Environment that points the app's Stripe client here. */
  env(webhookSecret: string): Record<string, string> {
    return {
      STRIPE_SECRET_KEY: 'sk_test_fake',
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(this.port),
      STRIPE_API_PROTOCOL: 'http',
    };
  }

  failNext(n: number): void {
    this.failures = n;
  }

  writes(): RecordedStripeRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  private id(prefix: string): string {
    return `${prefix}_fake${String(++this.seq).padStart(8, '0')}`;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const path = (req.url ?? '').split('?')[0] ?? '';
    const key = req.headers['idempotency-key'] as string | undefined;
    const method = req.method ?? 'GET';
    const auth = req.headers.authorization;

    if (this.failures > 0) {
      this.failures--;
      this.requests.push({ method, path, idempotencyKey: key, params, fresh: false });
      return { status: 500, body: { error: { type: 'api_error', message: 'fake outage' } } };
    }
    const cached = key && method === 'POST' ? this.idempotent.get(key) : undefined;
    this.requests.push({ method, path, idempotencyKey: key, params, fresh: !cached });
    if (cached) return cached;
    const answer =
      auth === 'Bearer sk_test_fake'
        ? this.route(method, path, params)
        : { status: 401, body: { error: { type: 'invalid_request_error', message: 'Invalid API Key' } } };
    if (key && method === 'POST') this.idempotent.set(key, answer);
    return answer;
  }

  private route(method: string, path: string, p: Record<string, string>): { status: number; body: unknown } {
    const now = Math.floor(Date.now() / 1000);
    const metadata = (prefix = 'metadata') =>
      Object.fromEntries(
        Object.entries(p)
          .filter(([k]) => k.startsWith(`${prefix}[`))
          .map(([k, v]) => [k.slice(prefix.length + 1, -1), v]),
      );
    const notFound = { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such object' } } };

    if (method === 'POST' && path === '/v1/customers') {
      const customer = {
        id: this.id('cus'),
        object: 'customer',
        email: p.email,
        name: p.name,
        metadata: metadata(),
        created: now,
      };
      this.customers.set(customer.id, customer);
      return { status: 200, body: customer };
    }
    if (method === 'POST' && path === '/v1/invoices') {
      if (!p.customer || !this.customers.has(p.customer)) return notFound;
      const invoice = {
        id: this.id('in'),
        object: 'invoice',
        customer: p.customer,
        currency: p.currency,
        collection_method: p.collection_method,
        days_until_due: Number(p.days_until_due),
        description: p.description,
        metadata: metadata(),
        status: 'draft',
        amount_due: 0,
        total: 0,
        lines: { object: 'list', data: [] as StripeObject[], has_more: false },
        hosted_invoice_url: null,
        due_date: null,
        number: null,
        status_transitions: { finalized_at: null, paid_at: null },
        created: now,
      };
      this.invoices.set(invoice.id, invoice);
      return { status: 200, body: invoice };
    }
    if (method === 'POST' && path === '/v1/invoiceitems') {
      const invoice = p.invoice ? this.invoices.get(p.invoice) : undefined;
      if (!invoice) return notFound;
      if (invoice.status !== 'draft') {
        return { status: 400, body: { error: { type: 'invalid_request_error', message: 'Invoice is not a draft' } } };
      }
      const quantity = Number(p.quantity ?? 1);
      // Stripe rounds quantity × unit_amount_decimal (cents) to a whole cent, half up.
      const amount = Math.round(quantity * Number(p.unit_amount_decimal ?? 0));
      const item = {
        id: this.id('ii'),
        object: 'invoiceitem',
        customer: p.customer,
        invoice: invoice.id,
        currency: p.currency,
        description: p.description,
        quantity,
        unit_amount_decimal: p.unit_amount_decimal,
        amount,
        metadata: metadata(),
      };
      this.invoiceItems.set(item.id, item);
      (invoice.lines as { data: StripeObject[] }).data.push(item);
      invoice.amount_due = (invoice.amount_due as number) + amount;
      invoice.total = invoice.amount_due;
      return { status: 200, body: item };
    }
    const finalize = /^\/v1\/invoices\/([^/]+)\/finalize$/.exec(path);
    if (method === 'POST' && finalize) {
      const invoice = this.invoices.get(finalize[1]);
      if (!invoice) return notFound;
      if (invoice.status !== 'draft') {
        return {
          status: 400,
          body: { error: { type: 'invalid_request_error', message: 'Invoice is already finalized' } },
        };
      }
      invoice.status = invoice.amount_due === 0 ? 'paid' : 'open';
      invoice.number = `FAKE-${String(this.invoices.size).padStart(4, '0')}`;
      invoice.hosted_invoice_url = `https://invoice.stripe.test/i/${invoice.id}`;
      invoice.due_date = now + 86_400 * (invoice.days_until_due as number);
      invoice.status_transitions = { finalized_at: now, paid_at: invoice.status === 'paid' ? now : null };
      return { status: 200, body: invoice };
    }
    const retrieve = /^\/v1\/invoices\/([^/]+)$/.exec(path);
    if (method === 'GET' && retrieve) {
      const invoice = this.invoices.get(retrieve[1]);
      return invoice ? { status: 200, body: invoice } : notFound;
    }
    return {
      status: 404,
      body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` } },
    };
  }
}
