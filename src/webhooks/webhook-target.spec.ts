import { resolveWebhookTarget, WebhookAllowList } from './webhook-target.js';

const none = new WebhookAllowList([]);

describe('webhook target guard', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://10.1.2.3/',
    'http://172.20.0.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://224.0.0.1/',
  ])('refuses %s', async (url) => {
    await expect(resolveWebhookTarget(url, none)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it.each(['ftp://example.com/x', 'file:///etc/passwd', 'http://user:pw@8.8.8.8/', 'not a url'])(
    'refuses the shape of %s',
    async (url) => {
      await expect(resolveWebhookTarget(url, none)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    },
  );

  it('accepts public addresses and pins the one to connect to', async () => {
    const t = await resolveWebhookTarget('https://8.8.8.8/hook?x=1', none);
    expect(t).toMatchObject({ address: '8.8.8.8', family: 4 });
    expect(t.url.pathname).toBe('/hook');
  });

  it('accepts allow-listed hosts, addresses and networks', async () => {
    await expect(
      resolveWebhookTarget('http://localhost:9/x', new WebhookAllowList(['localhost'])),
    ).resolves.toBeTruthy();
    await expect(
      resolveWebhookTarget('http://127.0.0.1:9/x', new WebhookAllowList(['127.0.0.0/8'])),
    ).resolves.toMatchObject({
      address: '127.0.0.1',
    });
    await expect(resolveWebhookTarget('http://[::1]:9/x', new WebhookAllowList(['::1']))).resolves.toBeTruthy();
    await expect(resolveWebhookTarget('http://10.0.0.5/x', new WebhookAllowList(['127.0.0.1']))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });
});
