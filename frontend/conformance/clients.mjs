// Drives a running server with the two app clients our users build on, set up as their docs
// show: urql (queries over GET, its default within the URL limit; mutations over POST;
// subscriptions through graphql-ws) and Apollo Client (InMemoryCache, which adds __typename
// everywhere; HTTP and graphql-ws split by operation). Each signs in, reads the feed, sees an
// error code, and receives a message it sent in a room over a subscription.
// Needs the demo data (users alice and bob, password townsquare-demo).
// Usage: node clients.mjs http://127.0.0.1:8000/graphql
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { checks, withTimeout } from './support.mjs';

const { check, finish } = checks('app clients');

const httpUrl = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const wsUrl = httpUrl.replace(/^http/, 'ws');
/** Collects a subscription's results; `next(n)` waits until n have arrived. */
function collector() {
  const results = [];
  const waiters = [];
  return {
    results,
    push(result) {
      results.push(result);
      for (const waiter of [...waiters]) if (results.length >= waiter.n) waiter.resolve(results);
    },
    next(n, what) {
      if (results.length >= n) return Promise.resolve(results);
      return withTimeout(new Promise((resolve) => waiters.push({ n, resolve })), 5000, what);
    },
  };
}

const LOGIN = 'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id username } } }';
const FEED = 'query Feed($first: Int) { posts(first: $first) { edges { node { id body likeCount author { id username } } } pageInfo { hasNextPage endCursor } } }';
const CREATE_ROOM = 'mutation CreateRoom($name: String!) { createRoom(name: $name) { id name } }';
const SEND = 'mutation Send($roomId: ID!, $body: String!) { sendMessage(roomId: $roomId, body: $body) { id body author { username } } }';
const ROOM_EVENTS = `subscription RoomEvents($roomId: ID!) {
  roomEvents(roomId: $roomId) {
    ... on PresenceSnapshot { onlineCount onlineUsers { id username } }
    ... on MessagePosted { message { id body author { id username } } }
  }
}`;

// ---- urql ----
async function urql() {
  const methods = [];
  const recordingFetch = (url, init) => {
    methods.push(init?.method ?? 'GET');
    return fetch(url, init);
  };
  let token;
  const ws = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
    retryAttempts: 0,
  });
  const client = new Client({
    url: httpUrl,
    fetch: recordingFetch,
    fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });

  const signedOut = await client.query('{ me { id } }', {}).toPromise();
  check(!signedOut.error && signedOut.data?.me === null, 'urql: me without a token is null', JSON.stringify(signedOut.error ?? signedOut.data));
  check(methods.at(-1) === 'GET', 'urql: a query goes over GET', methods.at(-1));

  const login = await client.mutation(LOGIN, { email: 'alice@example.com', password: 'townsquare-demo' }).toPromise();
  token = login.data?.login?.token;
  check(Boolean(token), 'urql: login over POST', JSON.stringify(login.error));
  check(methods.at(-1) === 'POST', 'urql: a mutation goes over POST', methods.at(-1));

  const feed = await client.query(FEED, { first: 3 }).toPromise();
  check(feed.data?.posts?.edges?.length === 3, 'urql: the feed with variables over GET', JSON.stringify(feed.error ?? feed.data));

  const wrong = await client.mutation(SEND, { roomId: '00000000-0000-7000-8000-000000000000', body: 'hello' }).toPromise();
  const code = wrong.error?.graphQLErrors?.[0]?.extensions?.code;
  check(code === 'NOT_FOUND', 'urql: an unknown room is NOT_FOUND', JSON.stringify(wrong.error));

  const room = await client.mutation(CREATE_ROOM, { name: `urql-${Date.now()}` }).toPromise();
  const roomId = room.data?.createRoom?.id;
  check(Boolean(roomId), 'urql: createRoom', JSON.stringify(room.error));
  const events = collector();
  const { unsubscribe } = client.subscription(ROOM_EVENTS, { roomId }).subscribe((result) => events.push(result));
  const [snapshot] = await events.next(1, 'urql: the presence snapshot');
  check(snapshot.data?.roomEvents?.onlineCount === 1, 'urql: roomEvents starts with the snapshot', JSON.stringify(snapshot));
  const sent = await client.mutation(SEND, { roomId, body: 'from urql' }).toPromise();
  const [, posted] = await events.next(2, 'urql: the posted message');
  check(
    posted.data?.roomEvents?.message?.id === sent.data?.sendMessage?.id && posted.data.roomEvents.message.body === 'from urql',
    'urql: the sender receives its own message live',
    JSON.stringify(posted),
  );
  unsubscribe();
  await ws.dispose();
}

// ---- Apollo Client ----
async function apollo() {
  const http = new HttpLink({ uri: httpUrl });
  const signIn = new ApolloClient({ link: http, cache: new InMemoryCache() });
  const { data: signedIn } = await signIn.mutate({
    mutation: gql(LOGIN),
    variables: { email: 'bob@example.com', password: 'townsquare-demo' },
  });
  const token = signedIn?.login?.token;
  check(Boolean(token), 'apollo: login');

  const authorization = new ApolloLink((operation, forward) => {
    operation.setContext(({ headers = {} }) => ({ headers: { ...headers, authorization: `Bearer ${token}` } }));
    return forward(operation);
  });
  const ws = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const link = ApolloLink.split(
    ({ operationType }) => operationType === 'subscription',
    new GraphQLWsLink(ws),
    authorization.concat(http),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });

  const { data: feed } = await client.query({ query: gql(FEED), variables: { first: 2 } });
  check(
    feed?.posts?.edges?.length === 2 && feed.posts.edges[0].node.__typename === 'Post',
    'apollo: the feed through InMemoryCache (__typename added)',
    JSON.stringify(feed),
  );

  try {
    await client.mutate({ mutation: gql(CREATE_ROOM), variables: { name: '' } });
    check(false, 'apollo: an empty room name is refused', 'no error');
  } catch (error) {
    const code = CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.code : undefined;
    check(code === 'BAD_USER_INPUT', 'apollo: an empty room name is BAD_USER_INPUT', String(error));
  }

  const { data: room } = await client.mutate({ mutation: gql(CREATE_ROOM), variables: { name: `apollo-${Date.now()}` } });
  const roomId = room?.createRoom?.id;
  check(Boolean(roomId), 'apollo: createRoom');
  const events = collector();
  const subscription = client
    .subscribe({ query: gql(ROOM_EVENTS), variables: { roomId } })
    .subscribe({ next: (result) => events.push(result), error: (error) => events.push({ error }) });
  const [snapshot] = await events.next(1, 'apollo: the presence snapshot');
  check(snapshot.data?.roomEvents?.__typename === 'PresenceSnapshot', 'apollo: roomEvents starts with the snapshot', JSON.stringify(snapshot));
  const { data: sent } = await client.mutate({ mutation: gql(SEND), variables: { roomId, body: 'from apollo' } });
  const [, posted] = await events.next(2, 'apollo: the posted message');
  check(
    posted.data?.roomEvents?.__typename === 'MessagePosted' && posted.data.roomEvents.message.id === sent?.sendMessage?.id,
    'apollo: the sender receives its own message live',
    JSON.stringify(posted),
  );
  subscription.unsubscribe();
  await ws.dispose();
}

try {
  await urql();
  await apollo();
} catch (error) {
  check(false, 'the run ended early', error?.stack ?? String(error));
}
finish();
