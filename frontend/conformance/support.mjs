// What the conformance scripts share: `ok`/`FAIL` lines with a verdict and exit code at the
// end, a time limit on a promise, the first lines where two texts differ, and a plain
// GraphQL POST for setting up (signing in, creating a room).

/**
 * The checks of one script named `name`: `check` prints a line per check, `finish` prints
 * the verdict and exits 1 when any failed.
 */
export function checks(name) {
  let failures = 0;
  return {
    check(ok, what, detail = '') {
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !detail ? '' : `: ${detail}`}`);
      if (!ok) failures += 1;
    },
    finish() {
      if (failures > 0) {
        console.log(`${name}: ${failures} check(s) failed`);
        process.exit(1);
      }
      console.log(`${name}: every check passes`);
      process.exit(0);
    },
  };
}

/** `promise`, or a rejection naming `what` after `ms` milliseconds. */
export function withTimeout(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

/** The first lines where two texts differ, with `context` lines before. */
export function firstDifference(a, b, context = 2) {
  const left = a.split('\n');
  const right = b.split('\n');
  let line = 0;
  while (line < left.length && line < right.length && left[line] === right[line]) line += 1;
  const from = Math.max(0, line - context);
  const show = (lines, mark) => lines.slice(from, line + 3).map((text, i) => `${from + i === line ? mark : ' '}${from + i + 1}: ${text}`).join('\n');
  return `first difference at line ${line + 1}\n${show(left, '-')}\n${show(right, '+')}`;
}

/** POSTs `query` to `url` (with `token` when given) and returns its data; throws on errors. */
export async function graphql(url, query, variables = {}, token) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
