// Account mail as a user lives it, through GraphQL and a real SMTP server started here: the
// verification link `register` mails, password reset by mailed link, changing a password. Every
// flow is completed with the token read from the received mail; tokens work once, expire, and
// say nothing about which addresses have accounts; a reset ends every session; the outbox retries
// a server that refuses for a while and still sends each mail once.
import { randomUUID } from 'node:crypto';
import { ApiKeyScope } from '../../src/entities/enums.js';
import { User } from '../../src/entities/user.entity.js';
import {
  ChangePasswordDocument,
  LoginDocument,
  MeDocument,
  RefreshSessionDocument,
  RegisterDocument,
  RequestPasswordResetDocument,
  ResendVerificationDocument,
  ResetPasswordDocument,
  VerifyEmailDocument,
} from '../generated/graphql.js';
import { apiKeyFor, tokenFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startSmtpServer, tokenFrom, type SmtpServer } from '../support/smtp-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let smtp: SmtpServer;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  smtp = await startSmtpServer();
  server = await startTestServer({
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Marketplace <accounts@marketplace.test>',
    MAIL_LINK_BASE_URL: 'https://app.marketplace.test/account',
    MAIL_BACKOFF_MS: '100',
    MAIL_POLL_MS: '100',
  });
  server.app.startJobs();
}, 60_000);

afterAll(async () => {
  await server?.close();
  await smtp?.close();
});

const email = () => `user-${randomUUID().slice(0, 8)}@example.test`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codeOf = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions;

async function register(address = email()) {
  const res = await server.gql(RegisterDocument, {
    input: { email: address, password: PASSWORD, displayName: 'Ada <Lovelace>' },
  });
  expect(res.errors).toBeUndefined();
  return { address, ...res.data!.register };
}

it('mails a verification link on register; the link confirms the address once', async () => {
  const account = await register();
  expect(account.user.emailVerified).toBe(false);
  const mail = await smtp.next(account.address, 'Confirm your email address');
  expect(mail.from?.value).toEqual([{ name: 'Marketplace', address: 'accounts@marketplace.test' }]);
  expect(mail.messageId).toMatch(/@model-marketplace>$/);
  const token = tokenFrom(mail, '/account/verify-email');
  // The HTML part holds the same link, and the display name escaped.
  expect(mail.html).toContain(`https://app.marketplace.test/account/verify-email?token=${token}`);
  expect(mail.html).toContain('Ada &lt;Lovelace&gt;');

  const verified = await server.gql(VerifyEmailDocument, { token });
  expect(verified.data?.verifyEmail).toMatchObject({ email: account.address, emailVerified: true });
  expect((await server.gql(MeDocument, {}, bearer(account.accessToken))).data?.me.emailVerified).toBe(true);

  const again = await server.gql(VerifyEmailDocument, { token });
  expect(codeOf(again)).toMatchObject({
    code: 'BAD_USER_INPUT',
    reason: 'TOKEN_INVALID',
    requestId: expect.any(String),
  });
  // Verified: nothing more to send.
  expect((await server.gql(ResendVerificationDocument, {}, bearer(account.accessToken))).data?.resendVerification).toBe(
    false,
  );
});

it('lets one of two concurrent uses of a link win, and refuses a forged or foreign token alike', async () => {
  const account = await register();
  const token = tokenFrom(await smtp.next(account.address), '/account/verify-email');
  const results = await Promise.all([1, 2, 3].map(() => server.gql(VerifyEmailDocument, { token })));
  expect(results.filter((r) => r.data?.verifyEmail).length).toBe(1);
  for (const forged of ['aimve_' + 'A'.repeat(43), 'nonsense', token.replace('aimve_', 'aimpr_')]) {
    expect(codeOf(await server.gql(VerifyEmailDocument, { token: forged }))).toMatchObject({ reason: 'TOKEN_INVALID' });
  }
});

it('resends a verification link to an account that has none in this minute, and not twice', async () => {
  // Made directly (as accounts from before verification existed): no link was mailed.
  const user = await new Factory(server.app).user();
  const headers = bearer(await tokenFor(server.app, user));
  expect((await server.gql(ResendVerificationDocument, {}, headers)).data?.resendVerification).toBe(true);
  expect((await server.gql(ResendVerificationDocument, {}, headers)).data?.resendVerification).toBe(false);
  const token = tokenFrom(await smtp.next(user.email), '/account/verify-email');
  expect((await server.gql(VerifyEmailDocument, { token })).data?.verifyEmail.emailVerified).toBe(true);
  expect(smtp.messages.filter((m) => JSON.stringify(m.to).includes(user.email))).toHaveLength(1);
});

it('resets a password by mailed link: same answer for unknown addresses, one use, every session ended', async () => {
  const account = await register();
  const unknown = email();
  expect((await server.gql(RequestPasswordResetDocument, { email: unknown })).data?.requestPasswordReset).toBe(true);
  expect(
    (await server.gql(RequestPasswordResetDocument, { email: ` ${account.address.toUpperCase()} ` })).data,
  ).toEqual({
    requestPasswordReset: true,
  });
  const mail = await smtp.next(account.address, 'Reset your password');
  const token = tokenFrom(mail, '/account/reset-password');

  // A new password that breaks the policy leaves the link usable.
  const weak = await server.gql(ResetPasswordDocument, { token, newPassword: 'short' });
  expect(codeOf(weak)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'password' });
  const newPassword = 'a brand new passphrase here';
  expect((await server.gql(ResetPasswordDocument, { token, newPassword })).data?.resetPassword).toBe(true);
  expect(
    codeOf(await server.gql(ResetPasswordDocument, { token, newPassword: 'yet another passphrase' })),
  ).toMatchObject({
    reason: 'TOKEN_INVALID',
  });

  expect(codeOf(await server.gql(LoginDocument, { email: account.address, password: PASSWORD }))).toMatchObject({
    code: 'UNAUTHENTICATED',
  });
  expect((await server.gql(LoginDocument, { email: account.address, password: newPassword })).data?.login).toBeTruthy();
  // The session from before the reset is over.
  expect(codeOf(await server.gql(RefreshSessionDocument, { refreshToken: account.refreshToken }))).toMatchObject({
    code: 'UNAUTHENTICATED',
  });
  // The reset proved the mailbox, and the owner is told.
  expect((await server.gql(MeDocument, {}, bearer(account.accessToken))).data?.me.emailVerified).toBe(true);
  await smtp.next(account.address, 'Your password was changed');
  // Nothing ever went to the unknown address.
  expect(smtp.messages.some((m) => JSON.stringify(m.to).includes(unknown))).toBe(false);
});

it('refuses an expired reset link', async () => {
  const account = await register();
  await server.gql(RequestPasswordResetDocument, { email: account.address });
  const token = tokenFrom(await smtp.next(account.address, 'Reset your password'), '/account/reset-password');
  await server.app.db.orm.em
    .fork()
    .execute(
      `update account_tokens set expires_at = now() - interval '1 second' where user_id = ? and purpose = 'RESET_PASSWORD'`,
      [account.user.id],
    );
  expect(
    codeOf(await server.gql(ResetPasswordDocument, { token, newPassword: 'a brand new passphrase' })),
  ).toMatchObject({
    reason: 'TOKEN_INVALID',
  });
});

it('changes a password given the current one, with an access token only', async () => {
  const account = await register();
  const headers = bearer(account.accessToken);
  const wrong = await server.gql(
    ChangePasswordDocument,
    { currentPassword: 'not it at all', newPassword: 'next passphrase ok' },
    headers,
  );
  expect(codeOf(wrong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
  const owner = await server.app.db.orm.em.fork().findOneOrFail(User, { id: account.user.id });
  const key = await apiKeyFor(server.app, owner, [ApiKeyScope.PREDICT]);
  const byKey = await server.gql(
    ChangePasswordDocument,
    { currentPassword: PASSWORD, newPassword: 'next passphrase ok' },
    { 'x-api-key': key },
  );
  expect(codeOf(byKey)).toMatchObject({ code: 'FORBIDDEN', reason: 'API_KEY_NOT_ALLOWED' });
  const ok = await server.gql(
    ChangePasswordDocument,
    { currentPassword: PASSWORD, newPassword: 'next passphrase ok' },
    headers,
  );
  expect(ok.data?.changePassword).toBe(true);
  expect(
    (await server.gql(LoginDocument, { email: account.address, password: 'next passphrase ok' })).data?.login,
  ).toBeTruthy();
  await smtp.next(account.address, 'Your password was changed');
});

it('retries a server that refuses for a while, and sends the mail once', async () => {
  smtp.failNext(2);
  const account = await register();
  const mail = await smtp.next(account.address, 'Confirm your email address');
  expect(mail).toBeDefined();
  const [row] = await server.app.db.orm.em
    .fork()
    .execute<{ status: string; attempts: number }[]>(`select status, attempts from mail_outbox where "to" = ?`, [
      account.address,
    ]);
  expect(row).toEqual({ status: 'SENT', attempts: 3 });
  await new Promise((r) => setTimeout(r, 500));
  expect(smtp.messages.filter((m) => JSON.stringify(m.to).includes(account.address))).toHaveLength(1);
});
