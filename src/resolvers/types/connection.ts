import { Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { PageInfo } from './page-info.type.js';

/**
 * Builds the Relay `XConnection` / `XEdge` pair for a node type. Resolvers return a
 * `Page<T>` (src/shared/pagination.ts) whose `totalCount` getter runs its count query only when
 * the client selects the field.
 */
export function connectionOf<T extends object>(nodeType: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field({ description: 'Opaque; pass as `after` to get the nodes that follow.' })
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: 'All nodes matching the filter, across pages.' })
    totalCount!: number;
  }

  return Connection;
}
