import express, { Router } from 'express';
import Stripe from 'stripe';
import type { App } from '../app.js';

/**
 * `POST /webhooks/stripe`. Stripe signs the exact bytes it sent, so this route reads the body
 * raw (`express.raw`) and must be mounted before any JSON body parser
 * (https://docs.stripe.com/webhooks#verify-official-libraries; Vendure's raw-body middleware does
 * the same). Answers: 200 handled (also for duplicates and events we do not act on, so Stripe
 * stops retrying), 400 bad signature, 503 when Stripe is not configured, 500 when handling failed
 * (Stripe retries it later; nothing was half-applied).
 */
export function stripeWebhookRoutes(app: App): Router {
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
    const webhooks = app.services.billing.stripeWebhooks;
    if (!webhooks) {
      res.status(503).json({ error: 'Stripe webhooks are not configured' });
      return;
    }
    const signature = req.headers['stripe-signature'];
    if (typeof signature !== 'string' || !Buffer.isBuffer(req.body)) {
      res.status(400).json({ error: 'Missing Stripe-Signature header or body' });
      return;
    }
    let event: Stripe.Event;
    try {
      event = webhooks.service.verify(req.body, signature, webhooks.secret);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
        res.status(400).json({ error: 'Invalid signature' });
        return;
      }
      res.status(400).json({ error: 'Malformed event' });
      return;
    }
    try {
      const outcome = await webhooks.service.handle(app.db.orm.em.fork(), event);
      res.status(200).json({ received: true, outcome });
    } catch (err) {
      app.logger.error({ err, eventId: event.id, type: event.type }, 'stripe webhook handling failed');
      res.status(500).json({ error: 'Handling failed; retry later' });
    }
  });
  return router;
}
