// Shared pieces of the GraphiQL tests: a page fixture that watches what the page fetches,
// GraphQL over HTTP from the test itself, and ways to fill GraphiQL's Monaco editors.
import { type APIRequestContext, type Locator, type Page, expect, test as base } from '@playwright/test';

/** What a page did that the server's Content-Security-Policy or an offline machine would break. */
interface Trouble {
  /** Requests to anything but the page's own origin (data: and blob: URLs aside). */
  foreign: string[];
  /** `securitypolicyviolation` events: directive and blocked URL. */
  csp: string[];
  /** Uncaught exceptions in the page. */
  errors: string[];
}

/**
 * `page` that fails the test when the page loads anything from another origin, breaks the
 * server's Content-Security-Policy or throws.
 */
export const test = base.extend<{ trouble: Trouble }>({
  trouble: [
    async ({ page, baseURL }, use) => {
      const origin = new URL(baseURL ?? '').origin;
      const trouble: Trouble = { foreign: [], csp: [], errors: [] };
      page.on('request', (request) => {
        const url = request.url();
        if (!/^(data|blob):/.test(url) && new URL(url).origin !== origin) {
          trouble.foreign.push(url);
        }
      });
      page.on('pageerror', (error) => trouble.errors.push(error.message));
      await page.exposeFunction('__reportCspViolation', (text: string) => trouble.csp.push(text));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          const report = (window as unknown as { __reportCspViolation: (text: string) => void }).__reportCspViolation;
          report(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'}`);
        });
      });
      await use(trouble);
      expect(trouble.foreign, 'requests to other origins').toEqual([]);
      expect(trouble.csp, 'Content-Security-Policy violations').toEqual([]);
      expect(trouble.errors, 'uncaught page errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Sends one GraphQL operation over HTTP, as `token`'s user when given; fails on errors. */
export async function graphql<T>(
  request: APIRequestContext,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const response = await request.post('/graphql', {
    data: { query, variables },
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data as T;
}

/** Signs a demo user in over HTTP and returns the token. */
export async function signIn(request: APIRequestContext, username: string): Promise<string> {
  const data = await graphql<{ login: { token: string } }>(
    request,
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }',
    // The demo password that src/seed.rs gives every demo user.
    { email: `${username}@example.com`, password: 'townsquare-demo' },
  );
  return data.login.token;
}

/** Opens GraphiQL and waits until it has the server's schema and its editor is up. */
export async function openGraphiQL(page: Page): Promise<void> {
  const introspection = page.waitForResponse(
    (response) =>
      new URL(response.url()).pathname === '/graphql' &&
      (response.request().postData() ?? '').includes('IntrospectionQuery'),
  );
  const loaded = await page.goto('/graphiql');
  // A binary compiled before the server embedded dist/ (or before dist/ existed) shows
  // something else at /graphiql: say which binary to rebuild rather than time out.
  const html = (await loaded?.text()) ?? '';
  expect(html, `GET /graphiql is not this build's page; rebuild the server or set TOWNSQUARE_BIN`).toContain(
    '/graphiql/assets/',
  );
  expect((await introspection).ok()).toBeTruthy();
  await expect(operationEditor(page)).toBeVisible();
}

/** The operation editor. */
export function operationEditor(page: Page): Locator {
  return page.locator('section.graphiql-query-editor .monaco-editor');
}

/** The request headers editor (the Headers pane must be the one shown). */
export function headersEditor(page: Page): Locator {
  return page.locator('section.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .monaco-editor');
}

/** The response pane. */
export function responsePane(page: Page): Locator {
  return page.locator('.graphiql-response .result-window');
}

/**
 * Replaces a Monaco editor's text as a person pasting would: focus, select all, paste.
 * (Typed or inserted text would let Monaco close brackets on its own.)
 */
export async function replaceText(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.locator('.view-lines').click();
  await page.keyboard.press('ControlOrMeta+A');
  await editor.locator('textarea').evaluate((textarea, pasted) => {
    const clipboardData = new DataTransfer();
    clipboardData.setData('text/plain', pasted);
    textarea.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
  }, text);
}
