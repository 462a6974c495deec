// Runs graphql-http's GraphQL-over-HTTP audit against a running server.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
// Exits non-zero when a MUST audit fails; SHOULD and MAY results are reported.
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
let failedMust = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  const mark = result.status === 'ok' ? 'ok  ' : result.status === 'warn' ? 'warn' : 'FAIL';
  console.log(`${mark} ${audit.name}${result.status === 'ok' ? '' : ` — ${result.reason}`}`);
  if (result.status === 'error') failedMust += 1;
}
console.log(failedMust === 0 ? 'graphql-http audit: every MUST passes' : `graphql-http audit: ${failedMust} MUST failed`);
process.exit(failedMust === 0 ? 0 : 1);
