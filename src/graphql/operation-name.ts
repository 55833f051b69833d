import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/** Root fields named in a label before the rest is elided (bounds the label's length and variety). */
const MAX_FIELDS = 3;

/**
 * How logs and metrics name an operation: the client's operation name when it gave one, else its
 * type and root fields (`query models`, `mutation predict`, `query me,models`), so that anonymous
 * documents (`{ models { … } }`, as curl and quick scripts send them) are told apart. Root fields
 * come from a validated document, so they are schema field names: a bounded set, not client text.
 * Aliases are ignored (`{ a: models }` is `query models`).
 */
export function operationDisplayName(
  operationName: string | null | undefined,
  operation: OperationDefinitionNode | null | undefined,
  document: DocumentNode | undefined,
): string | undefined {
  if (operationName) return operationName;
  if (operation?.name) return operation.name.value;
  if (!operation) return undefined;
  const fields = rootFields(operation.selectionSet, document);
  const shown = fields.slice(0, MAX_FIELDS).join(',');
  return `${operation.operation} ${shown}${fields.length > MAX_FIELDS ? ',…' : ''}`;
}

/** Root field names in the order they appear, once each, through inline fragments and fragment spreads. */
function rootFields(selectionSet: SelectionSetNode, document: DocumentNode | undefined): string[] {
  const names = new Set<string>();
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = document?.definitions.find(
          (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) walk(fragment.selectionSet);
      }
    }
  };
  walk(selectionSet);
  return [...names];
}
