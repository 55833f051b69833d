import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';
import 'graphiql/graphiql.css';
import { createMarketplaceFetcher } from './fetcher';

const DEFAULT_QUERY = `# Welcome to the model marketplace API.
#
# Put a token in the Headers tab to act as a user:
#   { "Authorization": "Bearer <accessToken from login>" }  or  { "X-API-Key": "aimpk_…" }
# Subscriptions (e.g. predictionUpdated) run over WebSocket with the same credentials.

query TopModels {
  models(first: 5, orderBy: TOP_RATED) {
    totalCount
    edges {
      node {
        slug
        name
        ratingAverage
        owner { displayName }
        defaultVersion { version inputs { name dtype shape } }
      }
    }
  }
}
`;

const url = new URL('/graphql', window.location.href).href;
const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    <GraphiQL fetcher={createMarketplaceFetcher(url)} defaultQuery={DEFAULT_QUERY} shouldPersistHeaders />,
  );
}
