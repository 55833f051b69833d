/** A rendered mail: what the outbox stores and the transport sends. */
export type RenderedMail = { subject: string; text: string; html: string };

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Plain text and the same words as simple HTML (a link as a link), escaped. */
function render(subject: string, greeting: string, paragraphs: string[], link?: { url: string; label: string }) {
  const text = [
    greeting,
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    ...(link ? [link.url, ''] : []),
    '— Model Marketplace',
  ];
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(link ? [`<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>`] : []),
    '<p>— Model Marketplace</p></body></html>',
  ];
  return { subject, text: text.join('\n'), html: html.join('\n') };
}

export const MAIL_TEMPLATES = {
  verifyEmail: (p: { displayName: string; url: string; hours: number }): RenderedMail =>
    render(
      'Confirm your email address',
      `Hello ${p.displayName},`,
      [
        'Please confirm that this address is yours by opening the link below.',
        `The link works once, for ${p.hours} hours. If you did not create an account, ignore this mail.`,
      ],
      { url: p.url, label: 'Confirm my email address' },
    ),
  resetPassword: (p: { displayName: string; url: string; minutes: number }): RenderedMail =>
    render(
      'Reset your password',
      `Hello ${p.displayName},`,
      [
        'Someone asked to reset the password of your account. Open the link below to choose a new one.',
        `The link works once, for ${p.minutes} minutes. If it was not you, ignore this mail: your password stays as it is.`,
      ],
      { url: p.url, label: 'Choose a new password' },
    ),
  passwordChanged: (p: { displayName: string }): RenderedMail =>
    render('Your password was changed', `Hello ${p.displayName},`, [
      'The password of your account was just changed, and every session signed in with the old one was ended.',
      'If this was not you, reset your password at once and contact support.',
    ]),
  accountDeleted: (p: { displayName: string }): RenderedMail =>
    render('Your account was deleted', `Hello ${p.displayName},`, [
      'Your Model Marketplace account was deleted at your request: your address, name, keys, models and prediction data are gone.',
      'Invoices and billing records are kept as the law requires. This is the last mail we send to this address.',
    ]),
  usageAlert: (p: {
    displayName: string;
    spent: string;
    threshold: string;
    currency: string;
    month: string;
  }): RenderedMail =>
    render(`Usage alert: ${p.spent} ${p.currency} spent in ${p.month}`, `Hello ${p.displayName},`, [
      `Your spend for ${p.month} has reached ${p.spent} ${p.currency}, past the alert you set at ${p.threshold} ${p.currency}.`,
      'This alert fires once a month. Your spending cap, if you set one, still applies.',
    ]),
} as const;

export type MailTemplate = keyof typeof MAIL_TEMPLATES;
