/**
 * The spending cap's own statements; metering (record-succeeded.sql.ts, complete-succeeded.sql.ts)
 * keeps `monthly_spend.spent` and takes reservations off. One row per consumer and month holds
 * both figures the cap is checked against, so a check and the change it allows are one
 * conditional write under that row's lock: exact however many requests race.
 */

/**
 * What accepting a request needs, in one read: the consumer's cap, this month's spent and
 * reserved (null: no row yet), the oldest overdue invoice, and the model's pricing as it is now
 * (the pricing the request will be billed at).
 */
export const ACCEPTANCE_SQL = `
select
  u.monthly_spend_cap::text as cap,
  u.email_verified_at is not null as verified,
  ms.spent::text as spent,
  ms.reserved::text as reserved,
  (select i.number || '|' || i.period_start::text from invoices i
     where i.user_id = u.id and i.status = ? and i.due_at < now()
     order by i.due_at limit 1) as overdue,
  mo.price_per_request::text as price,
  mo.free_requests_per_month as allowance,
  mo.currency
from users u
left join monthly_spend ms on ms.user_id = u.id and ms.period_start = ?
left join models mo on mo.id = ?
where u.id = ?`;

/** Makes a consumer's month row (idempotent): before their first capped request of the month. */
export const ENSURE_MONTH_SQL = `
insert into monthly_spend (user_id, period_start, spent, reserved) values (?, ?, 0, 0)
on conflict (user_id, period_start) do nothing`;

/**
 * Holds `amount` of a consumer's month against their cap, if spent + reserved + amount stays
 * within it; returns the row when it did, nothing when it would not fit. The `on conflict … where`
 * is evaluated on the row as last committed, under its lock (a new row is inserted only when the
 * amount fits the cap alone). Parameters: userId, periodStart, amount, amount.
 */
export const RESERVE_SQL = `
with u as (select id, monthly_spend_cap as cap from users where id = ?)
insert into monthly_spend as ms (user_id, period_start, spent, reserved)
select u.id, ?::date, 0, ?::numeric from u where u.cap is null or ?::numeric <= u.cap
on conflict (user_id, period_start) do update set reserved = ms.reserved + excluded.reserved
  where (select cap from u) is null or ms.spent + ms.reserved + excluded.reserved <= (select cap from u)
returning ms.spent::text as spent, ms.reserved::text as reserved`;

/**
 * Gives back what queued jobs held, once they ended without success (failed, canceled): run in
 * the transaction of the status change, so it happens once with it. Summed per consumer and
 * month first: one month row is updated once however many of the jobs held it (an UPDATE … FROM
 * with several matching rows would apply only one). Parameter: the predictions' ids, as an array.
 */
export const RELEASE_SQL = `
update monthly_spend ms set reserved = greatest(0, ms.reserved - r.total)
from (select user_id, date_trunc('month', created_at at time zone 'UTC')::date as period, sum(reserved_amount) as total
      from predictions where id = any(?::uuid[]) and reserved_amount > 0 group by 1, 2) r
where ms.user_id = r.user_id and ms.period_start = r.period`;
