import { BREAK, GraphQLError, visit, type DocumentNode } from 'graphql';

const NUL = '\u0000';
const nulFreeDocuments = new WeakSet<DocumentNode>();

/**
 * Refuses U+0000 anywhere in an operation's string literals or variables (keys included), as
 * BAD_USER_INPUT. PostgreSQL's text and jsonb cannot hold it, and the driver fails on it with a
 * protocol error ("invalid message format", SQLSTATE 08P01) that reads like a lost connection:
 * without this check a search for "\u0000" answered 500, or SERVICE_UNAVAILABLE to be retried
 * forever. Variables are walked without recursion (they may be nested thousands deep).
 */
export function assertNoNulCharacters(document: DocumentNode, variables: unknown): void {
  let found = containsNul(variables);
  if (!found && !nulFreeDocuments.has(document)) {
    visit(document, {
      StringValue(node) {
        if (!node.value.includes(NUL)) return undefined;
        found = true;
        return BREAK;
      },
    });
    // Apollo reuses one DocumentNode per query text: its literals are checked once.
    if (!found) nulFreeDocuments.add(document);
  }
  if (found) {
    throw new GraphQLError('Strings may not contain the NUL character (U+0000)', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
}

function containsNul(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.includes(NUL)) return true;
    } else if (Array.isArray(value)) {
      // An indexed loop: a JSON tensor is an array of a million numbers, which an iterator walked
      // at ~8 ns each (8 ms per request on the main thread).
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'object' || typeof item === 'string') stack.push(item);
      }
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes(NUL)) return true;
        if (typeof item === 'object' || typeof item === 'string') stack.push(item);
      }
    }
  }
  return false;
}
