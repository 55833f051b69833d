import { getOperationAST, parse } from 'graphql';
import { operationDisplayName } from './operation-name.js';

const name = (source: string, operationName?: string) => {
  const document = parse(source);
  return operationDisplayName(operationName, getOperationAST(document, operationName), document);
};

describe('operationDisplayName', () => {
  it('keeps a named operation its name', () => {
    expect(name('query Catalog { models { totalCount } }')).toBe('Catalog');
    expect(name('query A { me { id } } mutation B { logout(refreshToken: "x") }', 'B')).toBe('B');
  });

  it('names an unnamed operation by its type and root fields, aliases aside', () => {
    expect(name('{ models { totalCount } }')).toBe('query models');
    expect(name('mutation { p: predict(modelId: "m", inputs: []) { inferenceTimeMs } }')).toBe('mutation predict');
    expect(name('subscription { myPredictionEvents { id } }')).toBe('subscription myPredictionEvents');
    expect(name('{ a: models { totalCount } b: models { totalCount } me { id } }')).toBe('query models,me');
  });

  it('follows fragments at the root and elides past three fields', () => {
    expect(name('{ ...F ... on Query { me { id } } } fragment F on Query { models { totalCount } }')).toBe(
      'query models,me',
    );
    expect(name('{ a { x } b { x } c { x } d { x } }')).toBe('query a,b,c,…');
  });

  it('has no name for a document it could not resolve to an operation', () => {
    expect(operationDisplayName(undefined, undefined, undefined)).toBeUndefined();
  });
});
