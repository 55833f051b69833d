import { AppError, ErrorCode } from '../shared/errors.js';

/** Why billing refused a prediction: `extensions.reason` next to `code: QUOTA_EXCEEDED`. */
export enum QuotaReason {
  SPEND_CAP = 'SPEND_CAP',
  OVERDUE_INVOICE = 'OVERDUE_INVOICE',
}

export const spendCapReached = (cap: string, spent: string, currency: string) =>
  new AppError(ErrorCode.QUOTA_EXCEEDED, `Monthly spending cap of ${cap} ${currency} reached (spent ${spent})`, {
    reason: QuotaReason.SPEND_CAP,
    cap,
    spent,
  });

export const overdueInvoice = (invoiceNumber: string) =>
  new AppError(ErrorCode.QUOTA_EXCEEDED, `Invoice ${invoiceNumber} is overdue: pay it to run predictions again`, {
    reason: QuotaReason.OVERDUE_INVOICE,
    invoice: invoiceNumber,
  });

export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);

export const unauthenticated = () => new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in first');
