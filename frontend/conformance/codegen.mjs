// Runs GraphQL Code Generator (client preset) on the operations in codegen/operations.graphql
// twice, as a front end would: once loading the schema from the running server's URL (the URL
// loader, which sends its introspection query over POST), once from the repository's
// schema.graphql. Both runs must succeed (the documents are validated against each schema) and
// write byte-identical files: the server's introspection and the exported SDL give an app the
// same generated types. The output goes to a temporary directory, removed at the end.
// Usage: node codegen.mjs http://127.0.0.1:8000/graphql [path/to/schema.graphql]
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
// The preset itself, not its name: codegen resolves names from the working directory, which
// is the repository root when CI runs this.
import { preset as clientPreset } from '@graphql-codegen/client-preset';
import { checks, firstDifference } from './support.mjs';

const { check, finish } = checks('codegen');

const url = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const schemaFile = process.argv[3] ?? fileURLToPath(new URL('../../schema.graphql', import.meta.url));
const documents = fileURLToPath(new URL('codegen/operations.graphql', import.meta.url));
/** Runs codegen with `schema` into a fresh directory; returns { dir, files: Map<name, text> } or the error. */
async function run(schema, label) {
  const dir = mkdtempSync(join(tmpdir(), `codegen-${label}-`));
  try {
    await generate(
      {
        schema,
        documents: [documents],
        silent: true,
        generates: { [`${dir}/`]: { preset: clientPreset, config: { useTypeImports: true } } },
      },
      true,
    );
    const files = new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
    return { dir, files };
  } catch (error) {
    return { dir, error };
  }
}

const dirs = [];
try {
  const fromUrl = await run(url, 'url');
  dirs.push(fromUrl.dir);
  check(!fromUrl.error, `codegen: the client preset from the server's URL (${url})`, String(fromUrl.error?.message ?? fromUrl.error).slice(0, 2000));
  const fromFile = await run(schemaFile, 'file');
  dirs.push(fromFile.dir);
  check(!fromFile.error, 'codegen: the client preset from schema.graphql', String(fromFile.error?.message ?? fromFile.error).slice(0, 2000));

  if (!fromUrl.error && !fromFile.error) {
    const names = [...fromFile.files.keys()];
    check(
      names.join(' ') === [...fromUrl.files.keys()].join(' ') && names.includes('graphql.ts') && names.includes('gql.ts'),
      `codegen: both runs write the same files (${names.join(', ')})`,
      `from the URL: ${[...fromUrl.files.keys()].join(', ')}; from the file: ${names.join(', ')}`,
    );
    const types = fromFile.files.get('graphql.ts') ?? '';
    const expected = ['FeedQuery', 'NotificationsQuery', 'LoginMutation', 'RegisterMutation', 'RoomEventsSubscription', 'PostCardFragment', 'NotificationKind', 'RegisterInput'];
    const missing = expected.filter((name) => !new RegExp(`\\b(type|enum) ${name}\\b`).test(types));
    check(missing.length === 0, 'codegen: the operations, fragments, enum and input are typed', `missing: ${missing.join(', ')}`);
    for (const name of names) {
      const a = fromFile.files.get(name);
      const b = fromUrl.files.get(name) ?? '';
      check(a === b, `codegen: ${name} from the URL is identical to ${name} from schema.graphql`, `\n${firstDifference(a, b)}\n(- from schema.graphql, + from the URL)`);
    }
  }
} catch (error) {
  check(false, 'the run ended early', error?.stack ?? String(error));
} finally {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
finish();
