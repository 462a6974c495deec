// GraphiQL pointed at this origin's /graphql, with a first tab that explains how to sign in.
import { GraphiQL } from 'graphiql';

import { DEFAULT_QUERY } from './defaultQuery';
import { createFetcher } from './fetcher';

// One fetcher for the page's lifetime: a new one would make GraphiQL fetch the schema again.
const fetcher = createFetcher(window.location);

export function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      // The sign-in steps end in the Headers pane, so it starts open.
      defaultEditorToolsVisibility="headers"
    >
      <GraphiQL.Logo>townsquare</GraphiQL.Logo>
    </GraphiQL>
  );
}
