import { AppError, badInput, ErrorCode } from '../shared/errors.js';

/** Why billing refused a prediction: `extensions.reason` next to `code: QUOTA_EXCEEDED`. */
export enum QuotaReason {
  SPEND_CAP = 'SPEND_CAP',
  OVERDUE_INVOICE = 'OVERDUE_INVOICE',
}

/**
 * The request's price does not fit under the consumer's monthly cap: `spent` is what this month's
 * predictions cost so far, `reserved` what queued jobs accepted under the cap still hold.
 */
export const spendCapReached = (cap: string, spent: string, reserved: string, currency: string) =>
  new AppError(
    ErrorCode.QUOTA_EXCEEDED,
    `Monthly spending cap of ${cap} ${currency} reached (spent ${spent}, reserved by queued jobs ${reserved})`,
    { reason: QuotaReason.SPEND_CAP, cap, spent, reserved },
  );

/** A model priced above PRICE_PER_REQUEST_MAX (set before the limit was) is not run at that price. */
export const priceAboveMaximum = (price: string, max: string, currency: string) =>
  badInput(
    `This model's price per request (${price} ${currency}) is above the platform's maximum of ${max}: it cannot be run until its publisher lowers it`,
    { reason: 'PRICE_ABOVE_MAXIMUM', pricePerRequest: price, maxPricePerRequest: max },
  );

export const overdueInvoice = (invoiceNumber: string) =>
  new AppError(ErrorCode.QUOTA_EXCEEDED, `Invoice ${invoiceNumber} is overdue: pay it to run predictions again`, {
    reason: QuotaReason.OVERDUE_INVOICE,
    invoice: invoiceNumber,
  });
