import type { AuthSettings } from './auth.config.js';
import { defaultAuthSettings } from './auth.config.js';
import { AccessTokenService } from './access-token.service.js';
import { AccountService } from './account.service.js';
import { AccountRecoveryService } from './account-recovery.service.js';
import { AccountDeletionService } from './account-deletion.service.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { Logger } from '../shared/logger.js';
import { AccountTokens } from './account-tokens.js';
import { ApiKeyService } from './api-key.service.js';
import { ApiKeyStatusCache } from './api-key-status-cache.js';
import { CallerResolver } from './caller-resolver.js';
import { JwtKeySet } from './jwt-key-set.js';
import { PasswordHasher } from './password.js';
import { RefreshTokenService } from './refresh-token.service.js';
import { UserStatusCache } from './user-status-cache.js';
import { MailOutbox } from '../mail/mail-outbox.js';

/**
 * The access layer's services, wired from config. The JWT key set loads lazily on first use (it
 * may read or write `<dataDir>/jwt-signing-key.json`), so building services stays synchronous.
 */
export function createAuthServices(
  config: { auth?: AuthSettings['auth']; dataDir?: string; env?: string; mail?: { linkBaseUrl: string } },
  // Without them (a schema built to print), mail is written nowhere and no file is removed.
  parts: { outbox?: MailOutbox; storage?: Pick<ModelStorage, 'delete'>; logger?: Pick<Logger, 'warn'> } = {},
) {
  const outbox = parts.outbox ?? new MailOutbox();
  const auth = config.auth ?? defaultAuthSettings().auth;
  const tokens = new AccessTokenService(auth.jwt, () =>
    JwtKeySet.load(auth.jwt, { dataDir: config.dataDir ?? 'memory://schema', env: config.env ?? 'development' }),
  );
  // Open WebSocket connections re-check their API key on each operation through it.
  const apiKeyStatus = new ApiKeyStatusCache({ ttlSeconds: auth.apiKeyCacheSeconds });
  const apiKeys = new ApiKeyService(auth, apiKeyStatus);
  const passwords = new PasswordHasher();
  const refreshTokens = new RefreshTokenService({ ttlDays: auth.refreshTokenTtlDays });
  // Shared by the caller resolver and whatever changes a user's role or closes an account (forget).
  const userStatus = new UserStatusCache({ ttlSeconds: auth.userStatusCacheSeconds });
  const recovery = new AccountRecoveryService({
    tokens: new AccountTokens(),
    outbox,
    passwords,
    refreshTokens,
    linkBaseUrl: config.mail?.linkBaseUrl ?? 'http://localhost:4000',
    onSessionsRevoked: (userId) => userStatus.forget(userId),
  });
  return {
    tokens,
    recovery,
    apiKeys,
    passwords,
    refreshTokens,
    userStatus,
    apiKeyStatus,
    accounts: new AccountService(passwords, tokens, refreshTokens, recovery),
    deletion: new AccountDeletionService({
      passwords,
      refreshTokens,
      outbox,
      storage: parts.storage ?? { delete: async () => undefined },
      onDeleted: (userId, apiKeyIds) => {
        userStatus.forget(userId);
        for (const id of apiKeyIds) apiKeyStatus.forget(id);
      },
      logger: parts.logger ?? { warn: () => undefined },
    }),
    callers: new CallerResolver(tokens, apiKeys, userStatus),
  };
}

export type AuthServices = ReturnType<typeof createAuthServices>;
