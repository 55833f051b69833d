import { Redis, type RedisOptions } from 'ioredis';

/**
 * The one place Redis connections are made (ioredis 5, the same class BullMQ uses). Each caller
 * names its connection (`CLIENT SETNAME`, visible in `CLIENT LIST`) and adds what its use needs:
 * BullMQ workers `maxRetriesPerRequest: null`, subscribers a dedicated connection, request-path
 * users a short `commandTimeout`. Whoever creates a client closes it (`quit()`) on shutdown.
 */
export function createRedis(url: string, options: RedisOptions & { connectionName: string }): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true, ...options });
}

/** Closes a client politely, or disconnects it if QUIT cannot be sent (e.g. Redis is down). */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
