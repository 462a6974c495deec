// Drives a running server with the graphql-ws client, as frontends do: a subscription that
// receives a live notification, a query over the socket, and logout closing the socket with
// 4401. Needs the demo data (users alice and bob, password townsquare-demo).
// Usage: node ws.mjs http://127.0.0.1:8000/graphql
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql, withTimeout } from './support.mjs';

const httpUrl = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const wsUrl = httpUrl.replace(/^http/, 'ws');

const login = (email) =>
  graphql(httpUrl, 'mutation($e: String!) { login(email: $e, password: "townsquare-demo") { token user { id } } }', { e: email });
const alice = (await login('alice@example.com')).login;
const bob = (await login('bob@example.com')).login;

let closed;
const closedEvent = new Promise((resolve) => { closed = resolve; });
const client = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${alice.token}` },
  retryAttempts: 0,
  // One socket for the whole run, as an app with a live subscription keeps.
  lazy: false,
  // The close after logout is expected and checked below, not an error to print.
  onNonLazyError: () => {},
  on: { closed: (event) => closed(event) },
});

// A query over the socket.
const me = await withTimeout(
  new Promise((resolve, reject) => {
    let result;
    client.subscribe({ query: '{ me { username } }' }, { next: (r) => { result = r; }, error: reject, complete: () => resolve(result) });
  }),
  5000,
  'query over the socket',
);
if (me.data?.me?.username !== 'alice') throw new Error(`me over the socket: ${JSON.stringify(me)}`);
console.log('ok   query over the socket');

// A live notification: bob likes one of alice's posts.
const received = withTimeout(
  new Promise((resolve, reject) => {
    client.subscribe(
      { query: 'subscription { notifications { id kind actor { username } } }' },
      {
        next: (r) => { if (r.data?.notifications?.kind === 'POST_LIKED') resolve(r.data.notifications); },
        // After logout the socket closes and this sink hears of it; the close is checked below.
        error: (error) => reject(error),
        complete: () => {},
      },
    );
  }),
  5000,
  'a live notification',
);
const posts = await graphql(httpUrl, '{ posts(first: 50) { edges { node { id author { id } } } } }');
const post = posts.posts.edges.map((edge) => edge.node).find((node) => node.author.id === alice.user.id);
await new Promise((resolve) => setTimeout(resolve, 300));
await graphql(httpUrl, 'mutation($id: ID!) { unlikePost(postId: $id) { id } }', { id: post.id }, bob.token);
await graphql(httpUrl, 'mutation($id: ID!) { likePost(postId: $id) { id } }', { id: post.id }, bob.token);
const notification = await received;
received.catch(() => {});
if (notification.actor.username !== 'bob') throw new Error(`notification: ${JSON.stringify(notification)}`);
console.log('ok   live notification over graphql-ws');

// Logout closes the socket with 4401, and the client does not reconnect.
await graphql(httpUrl, 'mutation { logout }', {}, alice.token);
const event = await withTimeout(closedEvent, 3000, 'close after logout');
if (event.code !== 4401) throw new Error(`close after logout: ${event.code} ${event.reason}`);
console.log(`ok   logout closed the socket: ${event.code} ${event.reason}`);
await client.dispose();
console.log('graphql-ws client: every check passes');
process.exit(0);
