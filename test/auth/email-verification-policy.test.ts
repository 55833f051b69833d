// EMAIL_VERIFICATION=required on the embedded mail default (no SMTP_URL): mail lands as .eml files
// under DATA_DIR/mail, which a developer opens to follow the link. Until the address is
// confirmed an account may browse and run free models, but not run paid ones or publish; the
// link read from the file lifts both.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { Role } from '../../src/entities/enums.js';
import { CreateModelDocument, PredictDocument, RegisterDocument, VerifyEmailDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { Factory } from '../support/factories.js';
import { waitFor } from '../support/processes.js';
import { tokenFrom } from '../support/smtp-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let dataDir: string;
let paidModelId: string;
let freeModelId: string;
const X = [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }];

beforeAll(async () => {
  // A data folder on disk (a test database's is `memory://`), as `npm start` has: mail lands there.
  dataDir = mkdtempSync(join(tmpdir(), 'mm-mail-'));
  server = await startTestServer({
    DATA_DIR: dataDir,
    EMAIL_VERIFICATION: 'required',
    MAIL_LINK_BASE_URL: 'http://localhost:5173',
  });
  const f = new Factory(server.app);
  const publisher = await f.user({ role: Role.PUBLISHER });
  const paid = await f.model(publisher, { pricePerRequest: '0.0100000000' });
  const free = await f.model(publisher, { pricePerRequest: '0' });
  await storedVersion(server.app, paid, 'elementwise');
  await storedVersion(server.app, free, 'elementwise');
  paidModelId = paid.id;
  freeModelId = free.id;
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The .eml file written for `to`, parsed as a mail client would. */
async function mailFile(to: string) {
  const transport = server.app.config.mail.transport;
  if (transport.kind !== 'files') throw new Error('expected the files transport');
  const file = await waitFor('the mail file', () => {
    try {
      return readdirSync(transport.dir)
        .map((name) => join(transport.dir, name))
        .find((path) => readFileSync(path, 'utf8').includes(to));
    } catch {
      return undefined;
    }
  });
  return simpleParser(readFileSync(file));
}

it('lets an unconfirmed account run free models only, and publish nothing, until it follows the mailed link', async () => {
  const address = `dev-${randomUUID().slice(0, 8)}@example.test`;
  const registered = await server.gql(RegisterDocument, {
    input: { email: address, password: 'correct horse battery staple', displayName: 'Dev', role: 'PUBLISHER' as never },
  });
  expect(registered.errors).toBeUndefined();
  const headers = { authorization: `Bearer ${registered.data!.register.accessToken}` };

  const free = await server.gql(PredictDocument, { modelId: freeModelId, inputs: X }, headers);
  expect(free.errors).toBeUndefined();
  const paid = await server.gql(PredictDocument, { modelId: paidModelId, inputs: X }, headers);
  expect(paid.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'EMAIL_NOT_VERIFIED' });
  const slug = `verified-only-${randomUUID().slice(0, 8)}`;
  const create = () => server.gql(CreateModelDocument, { input: { slug, name: 'Mine', task: 'regression' } }, headers);
  expect((await create()).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'EMAIL_NOT_VERIFIED' });

  const mail = await mailFile(address);
  expect(mail.subject).toBe('Confirm your email address');
  const token = tokenFrom(mail, '/verify-email');
  expect(mail.text).toContain(`http://localhost:5173/verify-email?token=${token}`);
  expect((await server.gql(VerifyEmailDocument, { token })).data?.verifyEmail.emailVerified).toBe(true);

  expect((await server.gql(PredictDocument, { modelId: paidModelId, inputs: X }, headers)).errors).toBeUndefined();
  expect((await create()).errors).toBeUndefined();
});
