// Checks that the running server's introspection describes exactly the schema in the
// repository's schema.graphql, and that the introspection queries tools send are answered:
// - graphql-js's getIntrospectionQuery with every option graphql 16.15 has for spec features
//   (descriptions, specifiedByUrl, directiveIsRepeatable, schemaDescription,
//   inputValueDeprecation, oneOf), over POST and over GET: the answer, printed as SDL, equals
//   schema.graphql printed the same way (both sorted, so only order may differ), and
//   `__schema.description` is schema.graphql's schema description (none today). The option
//   `experimentalDirectiveDeprecation` is left off: it asks for `__Directive.isDeprecated`,
//   which no GraphQL spec has, and a spec-following server refuses it.
// - what GraphiQL 5 sends (@graphiql/react 0.39: getIntrospectionQuery({ inputValueDeprecation,
//   schemaDescription }), both false unless the app turns them on, as operation
//   "IntrospectionQuery"), through @graphiql/toolkit's createGraphiQLFetcher, which sends it as
//   a JSON POST: it answers data without errors, with the defaults and with both props on.
// Usage: node introspection.mjs http://127.0.0.1:8000/graphql [path/to/schema.graphql]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import {
  GraphQLSchema,
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
  validateSchema,
} from 'graphql';
import { checks, firstDifference } from './support.mjs';

const { check, finish } = checks('introspection');

const url = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const schemaFile = process.argv[3] ?? fileURLToPath(new URL('../../schema.graphql', import.meta.url));
const ACCEPT = 'application/graphql-response+json, application/json;q=0.9';
const sdl = (schema) => printSchema(lexicographicSortSchema(schema));
const fileSchema = buildSchema(readFileSync(schemaFile, 'utf8'));
const expected = sdl(fileSchema);
// What a query that does not ask for the schema's own description (`schemaDescription: false`)
// can describe: schema.graphql without that description.
const expectedWithoutSchemaDescription = sdl(new GraphQLSchema({ ...fileSchema.toConfig(), description: undefined }));

/**
 * Builds the schema an introspection answer describes and compares it with schema.graphql.
 * The schema's own description (`__schema.description`, asked for by `schemaDescription`) is
 * checked on its own, so that a wrong one is named as such; the SDL is then compared with the
 * description schema.graphql has, and every other description in it.
 */
function compare(result, what) {
  const errors = result?.errors;
  check(!errors && Boolean(result?.data?.__schema), `${what}: data without errors`, JSON.stringify(errors ?? result).slice(0, 500));
  if (!result?.data?.__schema) return;
  const data = structuredClone(result.data);
  const askedForDescription = 'description' in data.__schema;
  if (askedForDescription) {
    // async-graphql 7.2 answers the __Schema type's own description here, for every schema.
    const own = fileSchema.description ?? null;
    check(
      data.__schema.description === own,
      `${what}: __schema.description is the schema's description (${own === null ? 'none' : 'as'} in schema.graphql)`,
      `got ${JSON.stringify(data.__schema.description)}`,
    );
    data.__schema.description = own;
  }
  let schema;
  try {
    schema = buildClientSchema(data);
  } catch (error) {
    check(false, `${what}: buildClientSchema`, String(error));
    return;
  }
  const invalid = validateSchema(schema);
  check(invalid.length === 0, `${what}: the schema it describes is valid`, invalid.map((error) => error.message).join('; '));
  const actual = sdl(schema);
  const wanted = askedForDescription ? expected : expectedWithoutSchemaDescription;
  check(actual === wanted, `${what}: printed as SDL, equals schema.graphql`, `\n${firstDifference(wanted, actual)}\n(- schema.graphql, + introspection)`);
}

async function json(response, what) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    check(false, `${what}: a JSON answer`, `${response.status} ${text.slice(0, 300)}`);
    return undefined;
  }
}

try {
  const full = getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
    oneOf: true,
  });

  const post = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT },
    body: JSON.stringify({ query: full, operationName: 'IntrospectionQuery' }),
  });
  const posted = await json(post, 'getIntrospectionQuery (every option) over POST');
  check(post.status === 200, 'getIntrospectionQuery (every option) over POST: HTTP 200', String(post.status));
  compare(posted, 'getIntrospectionQuery (every option) over POST');

  const search = new URLSearchParams({ query: full, operationName: 'IntrospectionQuery' });
  const get = await fetch(`${url}?${search}`, { headers: { accept: ACCEPT } });
  const got = await json(get, 'getIntrospectionQuery (every option) over GET');
  check(get.status === 200, `getIntrospectionQuery (every option) over GET (${`${url}?${search}`.length}-character URL): HTTP 200`, String(get.status));
  compare(got, 'getIntrospectionQuery (every option) over GET');
  if (posted?.data && got?.data) {
    check(JSON.stringify(posted.data) === JSON.stringify(got.data), 'introspection over GET answers the same as over POST');
  }

  // GraphiQL: the fetcher it is set up with, and the query it builds from its two props.
  const fetcher = createGraphiQLFetcher({ url, fetch });
  for (const props of [
    { inputValueDeprecation: false, schemaDescription: false },
    { inputValueDeprecation: true, schemaDescription: true },
  ]) {
    const what = `GraphiQL's introspection (${Object.entries(props).map(([name, on]) => `${name}: ${on}`).join(', ')})`;
    const result = await fetcher({ query: getIntrospectionQuery(props), operationName: 'IntrospectionQuery' }, {});
    compare(result, what);
  }
} catch (error) {
  check(false, 'the run ended early', error?.stack ?? String(error));
}
finish();
