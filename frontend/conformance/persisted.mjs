// Drives a running server's automatic persisted queries with the clients that send them, set
// up as their docs show, and watches every request through a recording `fetch`:
// - Apollo Client with PersistedQueryLink (sha256 from node:crypto), over POST (its default);
// - urql with persistedExchange({ preferGetForPersistedQueries: true }), over GET, so the
//   retry carries the document in the URL too;
// - the graphql-ws client, as an app whose exchange persists operations over the socket sends
//   them: a query and a subscription.
// For each, a document the server has never seen (its operation name and an alias carry this
// run's id, so a re-run against the same server starts with a miss again) must go:
// (a) hash only → an error PERSISTED_QUERY_NOT_FOUND, message PersistedQueryNotFound (the
//     words Apollo Client and urql look for before retrying);
// (b) the document with its hash → data;
// then the same document again (network-only):
// (c) hash only → data (a hit).
// And over HTTP, a hash that is not the document's SHA-256 is BAD_REQUEST.
// Needs the demo data (user alice, password townsquare-demo).
// Usage: node persisted.mjs http://127.0.0.1:8000/graphql
import { createHash, randomBytes } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { checks, withTimeout, graphql } from './support.mjs';

const { check, finish } = checks('persisted queries');

const httpUrl = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const wsUrl = httpUrl.replace(/^http/, 'ws');
// Makes this run's documents new to the server: operation names and aliases are GraphQL names.
const run = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const short = (value) => JSON.stringify(value)?.slice(0, 400);

/** A `fetch` that records each request's method and GraphQL parameters and the JSON answered. */
function recorder() {
  const requests = [];
  const recordingFetch = async (input, init = {}) => {
    const target = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init.method ?? 'GET').toUpperCase();
    let params;
    if (method === 'GET') {
      params = Object.fromEntries(target.searchParams);
      for (const key of ['variables', 'extensions']) if (params[key]) params[key] = JSON.parse(params[key]);
    } else {
      params = JSON.parse(init.body);
    }
    const response = await fetch(input, init);
    const answer = await response.clone().json().catch(() => undefined);
    requests.push({ method, params, status: response.status, answer });
    return response;
  };
  return { requests, fetch: recordingFetch };
}

/** Checks the three requests of a miss, its retry and a later hit, and the methods they used. */
function checkRounds(client, requests, method) {
  check(requests.length === 3, `${client}: three requests, the miss, the retry with the document, the hit`, `${requests.length}: ${short(requests.map((r) => r.params))}`);
  const [miss, retry, hit] = requests;
  const hash = miss?.params?.extensions?.persistedQuery?.sha256Hash;
  check(
    miss?.method === method && miss.params.query === undefined && /^[0-9a-f]{64}$/.test(hash ?? '') && miss.params.extensions.persistedQuery.version === 1,
    `(a) ${client}: the first request goes over ${method} with only the hash`,
    `${miss?.method} ${short(miss?.params)}`,
  );
  const error = miss?.answer?.errors?.[0];
  check(
    error?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND' && error.message === 'PersistedQueryNotFound' && miss.answer.data == null,
    `(a) ${client}: an unknown hash answers PERSISTED_QUERY_NOT_FOUND (PersistedQueryNotFound)`,
    `HTTP ${miss?.status} ${short(miss?.answer)}`,
  );
  check(
    typeof retry?.params?.query === 'string' && retry.params.extensions?.persistedQuery?.sha256Hash === hash && sha256(retry.params.query) === hash,
    `(b) ${client}: the retry (${retry?.method}) sends the document with its hash`,
    short(retry?.params),
  );
  check(Boolean(retry?.answer?.data) && !retry.answer.errors, `(b) ${client}: the document with its hash answers data`, `HTTP ${retry?.status} ${short(retry?.answer)}`);
  check(
    hit?.method === method && hit.params.query === undefined && hit.params.extensions?.persistedQuery?.sha256Hash === hash,
    `(c) ${client}: the same query again goes over ${method} with only the hash`,
    `${hit?.method} ${short(hit?.params)}`,
  );
  check(Boolean(hit?.answer?.data) && !hit.answer.errors, `(c) ${client}: the hash alone now answers data (a hit)`, `HTTP ${hit?.status} ${short(hit?.answer)}`);
}

// ---- Apollo Client: PersistedQueryLink in front of HttpLink ----
async function apollo() {
  const recorded = recorder();
  const link = new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: httpUrl, fetch: recorded.fetch }));
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const alias = `apollo_${run}`;
  const query = gql(`query ApolloPersisted_${run}($first: Int) { ${alias}: posts(first: $first) { edges { node { id body } } } }`);
  for (const round of ['first', 'second']) {
    try {
      const { data } = await client.query({ query, variables: { first: 2 }, fetchPolicy: 'network-only' });
      check(data?.[alias]?.edges?.length === 2, `apollo: the ${round} run of the query gets the feed`, short(data));
    } catch (error) {
      check(false, `apollo: the ${round} run of the query gets the feed`, String(error));
    }
  }
  checkRounds('apollo', recorded.requests, 'POST');
}

// ---- urql: persistedExchange before fetchExchange, hashed queries over GET ----
async function urql() {
  const recorded = recorder();
  const client = new Client({
    url: httpUrl,
    fetch: recorded.fetch,
    exchanges: [cacheExchange, persistedExchange({ preferGetForPersistedQueries: true }), fetchExchange],
  });
  const alias = `urql_${run}`;
  const query = `query UrqlPersisted_${run}($first: Int) { ${alias}: posts(first: $first) { edges { node { id body } } } }`;
  for (const round of ['first', 'second']) {
    const result = await client.query(query, { first: 2 }, { requestPolicy: 'network-only' }).toPromise();
    check(!result.error && result.data?.[alias]?.edges?.length === 2, `urql: the ${round} run of the query gets the feed`, String(result.error ?? short(result.data)));
  }
  checkRounds('urql', recorded.requests, 'GET');
}

// ---- graphql-ws: persisted operations over the socket ----
async function socket() {
  const { login } = await graphql(httpUrl, 'mutation($e: String!) { login(email: $e, password: "townsquare-demo") { token } }', { e: 'alice@example.com' });
  const { createRoom } = await graphql(httpUrl, 'mutation($n: String!) { createRoom(name: $n) { id } }', { n: `persisted-${run}` }, login.token);
  const ws = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${login.token}` },
    retryAttempts: 0,
    // One socket for every operation below, as an app keeps: a lazy client would close it
    // after each operation's end and open another.
    lazy: false,
    onNonLazyError: () => {},
  });

  /** Subscribes with `payload` and settles on the first result, an error or completion. */
  const first = (payload, what) =>
    withTimeout(
      new Promise((resolve) => {
        let dispose = () => {};
        let settled = false;
        const settle = (outcome) => {
          if (settled) return;
          settled = true;
          resolve(outcome);
          // After the first result of a subscription, stop it (the socket stays open for others).
          queueMicrotask(() => dispose());
        };
        dispose = ws.subscribe(payload, {
          next: (result) => settle({ result }),
          error: (error) => settle({ error }),
          complete: () => settle({ complete: true }),
        });
      }),
      5000,
      what,
    );
  const describe = (outcome) =>
    outcome.error
      ? Array.isArray(outcome.error) ? `error ${short(outcome.error)}` : `socket error ${outcome.error?.code ?? ''} ${outcome.error?.reason ?? outcome.error}`
      : outcome.result ? `next ${short(outcome.result)}` : 'complete without a result';

  const documents = [
    {
      kind: 'query',
      query: `query WsPersisted_${run} { ws_${run}: me { username } }`,
      variables: {},
      ok: (data) => data?.[`ws_${run}`]?.username === 'alice',
    },
    {
      kind: 'subscription',
      query: `subscription WsRoomEvents_${run}($roomId: ID!) { ws_${run}: roomEvents(roomId: $roomId) { __typename ... on PresenceSnapshot { onlineCount } } }`,
      variables: { roomId: createRoom.id },
      ok: (data) => data?.[`ws_${run}`]?.__typename === 'PresenceSnapshot',
    },
  ];
  for (const { kind, query, variables, ok } of documents) {
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    // The graphql-ws client requires `query` to be a string: a hash-only operation sends ''.
    const miss = await first({ query: '', variables, extensions }, `graphql-ws ${kind}: the miss`);
    const code = Array.isArray(miss.error) ? miss.error[0]?.extensions?.code : undefined;
    const message = Array.isArray(miss.error) ? miss.error[0]?.message : undefined;
    check(
      code === 'PERSISTED_QUERY_NOT_FOUND' && message === 'PersistedQueryNotFound',
      `(a) graphql-ws ${kind}: an unknown hash answers an error PERSISTED_QUERY_NOT_FOUND (PersistedQueryNotFound)`,
      describe(miss),
    );
    const retry = await first({ query, variables, extensions }, `graphql-ws ${kind}: the document with its hash`);
    check(ok(retry.result?.data) && !retry.result.errors, `(b) graphql-ws ${kind}: the document with its hash answers data`, describe(retry));
    const hit = await first({ query: '', variables, extensions }, `graphql-ws ${kind}: the hit`);
    check(ok(hit.result?.data) && !hit.result.errors, `(c) graphql-ws ${kind}: the hash alone now answers data (a hit)`, describe(hit));
  }
  await ws.dispose();
}

// ---- a hash that is not the document's ----
async function mismatch() {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `query Mismatch_${run} { __typename }`,
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(`query Other_${run} { __typename }`) } },
    }),
  });
  const answer = await response.json().catch(() => undefined);
  check(
    answer?.errors?.[0]?.extensions?.code === 'BAD_REQUEST' && answer.data == null,
    'a hash that is not the document\'s SHA-256 is BAD_REQUEST',
    `HTTP ${response.status} ${short(answer)}`,
  );
}

for (const [name, part] of [['apollo', apollo], ['urql', urql], ['graphql-ws', socket], ['mismatch', mismatch]]) {
  try {
    await part();
  } catch (error) {
    check(false, `${name}: the run ended early`, error?.stack ?? String(error));
  }
}
finish();
