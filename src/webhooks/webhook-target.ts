import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError, ErrorCode } from '../shared/errors.js';

/**
 * Server-side request forgery guard for webhook URLs. A webhook URL is chosen by any user, and
 * our servers POST to it: without this, `http://169.254.169.254/` (cloud metadata),
 * `http://localhost:6379/` or a private service would be reachable through us. Every address a
 * host resolves to must be public, unless the host or address is allow-listed
 * (`WEBHOOK_ALLOWED_HOSTS`: host names, IPs or CIDRs; tests allow-list loopback). The address
 * checked is the one connected to (the sender pins it), so DNS rebinding between check and
 * connect does not get past.
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

export type ResolvedTarget = { url: URL; address: string; family: 4 | 6 };

export class WebhookAllowList {
  private readonly hosts = new Set<string>();
  private readonly nets = new BlockList();

  /** Entries: `localhost`, `hooks.example.com`, `127.0.0.1`, `10.0.0.0/8`, `::1`. */
  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const [ip, bits] = entry.split('/');
      const family = isIP(ip ?? '');
      if (family && bits !== undefined) this.nets.addSubnet(ip, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
      else if (family) this.nets.addAddress(ip, family === 4 ? 'ipv4' : 'ipv6');
      else this.hosts.add(entry);
    }
  }

  allowsHost(host: string): boolean {
    return this.hosts.has(host.toLowerCase());
  }

  allowsAddress(address: string, family: 4 | 6): boolean {
    return this.nets.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is unwrapped and checked as IPv4; it is not a subnet in
 * PRIVATE because Node's BlockList applies a `::ffff:0:0/96` rule to every IPv4 address too.
 */
function isPrivate(address: string, family: 4 | 6): boolean {
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
    return PRIVATE.check(address, 'ipv6');
  }
  return PRIVATE.check(address, 'ipv4');
}

const refuse = (message: string) => new AppError(ErrorCode.BAD_USER_INPUT, message, { field: 'webhookUrl' });

/**
 * The one answer for a host that does not resolve and for one that resolves to a private or
 * reserved address: telling them apart (or naming the address) would let anyone map internal
 * names and addresses through us, one createPrediction at a time.
 */
export const TARGET_REFUSED =
  'webhookUrl must be a host that resolves to public addresses only (or one listed in WEBHOOK_ALLOWED_HOSTS)';

/** How a host name is resolved (node:dns's `lookup`, or a stand-in in tests). */
export type ResolveHost = (host: string) => Promise<readonly { address: string; family: number }[]>;

const dnsLookup: ResolveHost = (host) => lookup(host, { all: true, verbatim: true });

/** Checks the URL's shape (at submission time, no DNS): http(s), no credentials, sane length. */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > 2048) throw refuse('webhookUrl is longer than 2048 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('webhookUrl is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('webhookUrl must use https or http');
  if (url.username || url.password) throw refuse('webhookUrl must not carry credentials');
  return url;
}

/**
 * Resolves the host and returns the address to connect to, refusing private, loopback,
 * link-local and other non-public addresses unless allow-listed. Throws AppError BAD_USER_INPUT
 * (at submission) — the sender treats it as a permanent failure at delivery time.
 */
export async function resolveWebhookTarget(
  raw: string,
  allow: WebhookAllowList,
  resolve: ResolveHost = dnsLookup,
): Promise<ResolvedTarget> {
  const url = parseWebhookUrl(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses = literal
    ? [{ address: host, family: literal as 4 | 6 }]
    : await resolve(host).catch(() => {
        throw refuse(TARGET_REFUSED);
      });
  if (addresses.length === 0) throw refuse(TARGET_REFUSED);
  const hostAllowed = allow.allowsHost(host);
  for (const a of addresses) {
    const family = a.family as 4 | 6;
    if (isPrivate(a.address, family) && !hostAllowed && !allow.allowsAddress(a.address, family)) {
      throw refuse(TARGET_REFUSED);
    }
  }
  const first = addresses[0];
  return { url, address: first.address, family: first.family as 4 | 6 };
}
