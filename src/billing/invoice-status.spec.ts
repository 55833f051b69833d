import { InvoiceStatus } from '../entities/enums.js';
import { canMoveTo, statusesBelow } from './invoice-status.js';

describe('invoice status precedence', () => {
  it('only moves forward', () => {
    expect(canMoveTo(InvoiceStatus.DRAFT, InvoiceStatus.OPEN)).toBe(true);
    expect(canMoveTo(InvoiceStatus.OPEN, InvoiceStatus.PAID)).toBe(true);
    expect(canMoveTo(InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PAID)).toBe(true);
    expect(canMoveTo(InvoiceStatus.PAID, InvoiceStatus.OPEN)).toBe(false);
    expect(canMoveTo(InvoiceStatus.PAID, InvoiceStatus.VOID)).toBe(false);
    expect(canMoveTo(InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE)).toBe(false);
    expect(canMoveTo(InvoiceStatus.OPEN, InvoiceStatus.OPEN)).toBe(false);
  });

  it('lists the statuses an invoice may leave', () => {
    expect(statusesBelow(InvoiceStatus.OPEN)).toEqual([InvoiceStatus.DRAFT]);
    expect(statusesBelow(InvoiceStatus.PAID).sort()).toEqual(
      [InvoiceStatus.DRAFT, InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE].sort(),
    );
  });
});
