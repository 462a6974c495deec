// Removes the run's temporary database directory.
import { rmSync } from 'node:fs';

export default function teardown(): void {
  const dir = process.env.GRAPHIQL_E2E_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
