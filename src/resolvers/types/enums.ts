import { registerEnumType } from 'type-graphql';
import { ModelVersionStatus, Role } from '../../entities/enums.js';

registerEnumType(Role, { name: 'Role', description: 'What a user may do on the marketplace.' });
registerEnumType(ModelVersionStatus, {
  name: 'ModelVersionStatus',
  description: 'PROCESSING until validated, then READY or FAILED; DEPRECATED refuses new unpinned predictions.',
});

export enum ModelOrder {
  RELEVANCE = 'RELEVANCE',
  POPULAR = 'POPULAR',
  TOP_RATED = 'TOP_RATED',
  NEWEST = 'NEWEST',
}
registerEnumType(ModelOrder, {
  name: 'ModelOrder',
  description:
    'RELEVANCE ranks full-text matches (NEWEST without a search); TOP_RATED uses a Bayesian average so a single 5-star review does not beat many 4.8s.',
});

export enum ReviewOrder {
  NEWEST = 'NEWEST',
  MOST_HELPFUL = 'MOST_HELPFUL',
  HIGHEST_RATING = 'HIGHEST_RATING',
  LOWEST_RATING = 'LOWEST_RATING',
}
registerEnumType(ReviewOrder, { name: 'ReviewOrder' });

export { ModelVersionStatus, Role };
