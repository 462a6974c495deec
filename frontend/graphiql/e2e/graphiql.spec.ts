// GraphiQL at /graphiql, served by the real server from the committed build.
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';

import {
  expect,
  graphql,
  headersEditor,
  openGraphiQL,
  operationEditor,
  replaceText,
  responsePane,
  signIn,
  test,
} from './support';

/** Where the screenshot of a signed-in feed query goes (outside the runner's cleaned output). */
const SCREENSHOT = fileURLToPath(new URL('../test-results/screenshots/graphiql.png', import.meta.url));

test('the page and its Monaco workers come from this origin, under the server CSP', async ({ page, request }) => {
  const response = await request.get('/graphiql');
  expect(response.ok()).toBeTruthy();
  expect(response.headers()['content-security-policy']).toContain("default-src 'self'");
  expect(await response.text()).toContain('/graphiql/assets/');

  const workers: string[] = [];
  page.on('worker', (worker) => workers.push(worker.url()));
  await openGraphiQL(page);
  // Monaco's editor, GraphQL and JSON workers, emitted by Vite as same-origin files.
  await expect.poll(() => workers.length).toBeGreaterThanOrEqual(3);
  for (const url of workers) expect(url).toMatch(/\/graphiql\/assets\/[\w.-]+\.worker-[\w-]+\.js$/);
});

test('the docs explorer lists Query.posts', async ({ page }) => {
  await openGraphiQL(page);
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  const explorer = page.locator('.graphiql-doc-explorer');
  await explorer.getByRole('link', { name: 'Query', exact: true }).first().click();
  await expect(explorer.locator('.graphiql-doc-explorer-title')).toHaveText('Query');
  await expect(explorer.getByRole('link', { name: 'posts', exact: true })).toBeVisible();
  await expect(explorer).toContainText('Newest posts first.');
});

test('completion offers fields of the server schema', async ({ page }) => {
  await openGraphiQL(page);
  await replaceText(page, operationEditor(page), '{ pos');
  await page.keyboard.press('Control+Space');
  const suggestions = page.locator('.monaco-editor .suggest-widget');
  await expect(suggestions).toBeVisible();
  await expect(suggestions.locator('.monaco-list-row').first()).toContainText('posts');
});

test('the default tab explains signing in and its Feed query runs', async ({ page, request }) => {
  await openGraphiQL(page);
  const editor = operationEditor(page);
  await expect(editor).toContainText('Sign in');
  await expect(editor).toContainText('"Authorization": "Bearer <token>"');

  const token = await signIn(request, 'alice');
  await replaceText(page, headersEditor(page), JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
  const feed = page.waitForRequest(
    (sent) => new URL(sent.url()).pathname === '/graphql' && (sent.postData() ?? '').includes('"operationName":"Feed"'),
  );
  // Three operations in the tab: the run button asks which one.
  await page.locator('.graphiql-execute-button').click();
  await page.getByRole('menuitem', { name: 'Feed' }).click();
  expect((await feed).headers()['authorization']).toBe(`Bearer ${token}`);
  await expect(responsePane(page)).toContainText('"likedByViewer"');

  await page.screenshot({ path: SCREENSHOT });
});

test('a subscription typed in the editor runs signed in and receives a live event', async ({ page, request }) => {
  const alice = await signIn(request, 'alice');
  const bob = await signIn(request, 'bob');
  const {
    posts: { edges },
  } = await graphql<{ posts: { edges: { node: { id: string; author: { username: string } } }[] } }>(
    request,
    '{ posts(first: 20) { edges { node { id author { username } } } } }',
  );
  const alicePost = edges.find((edge) => edge.node.author.username === 'alice');
  expect(alicePost, 'a demo post by alice').toBeDefined();

  const sent: string[] = [];
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname === '/graphql') ws.on('framesent', (frame) => sent.push(String(frame.payload)));
  });
  await openGraphiQL(page);
  await replaceText(page, headersEditor(page), JSON.stringify({ Authorization: `Bearer ${alice}` }));
  // Typed key by key, as a person would; Monaco closes each brace and types over it again.
  await replaceText(page, operationEditor(page), '');
  await page.keyboard.type('subscription AliceNotifications { notifications { kind actor { username } comment { body } } }');
  await page.keyboard.press('Escape');
  await expect(operationEditor(page).locator('textarea')).toHaveValue(
    'subscription AliceNotifications { notifications { kind actor { username } comment { body } } }',
  );
  // GraphiQL parses the editor a moment after the last key; the toolkit picks the socket only
  // for a document it has parsed as a subscription. The tab takes the operation's name then.
  await expect(page.getByRole('tab', { selected: true })).toHaveText('AliceNotifications');
  await page.locator('.graphiql-execute-button').click();

  // The Headers pane's Authorization signs the socket in: connection_init carries it.
  await expect.poll(() => sent.some((frame) => frame.includes('"type":"subscribe"'))).toBe(true);
  const init = JSON.parse(sent.find((frame) => frame.includes('"type":"connection_init"')) ?? '{}');
  expect(init.payload).toMatchObject({ Authorization: `Bearer ${alice}` });

  // Bob comments on alice's post over HTTP; alice's subscription in the page hears of it.
  const body = `e2e-comment-${Date.now()}`;
  await graphql(
    request,
    'mutation ($postId: ID!, $body: String!) { addComment(postId: $postId, body: $body) { id } }',
    { postId: alicePost?.node.id, body },
    bob,
  );
  await expect(responsePane(page)).toContainText(body);
  await expect(responsePane(page)).toContainText('POST_COMMENTED');
  await expect(page.getByRole('button', { name: /^Stop query/ })).toBeVisible();
});

/**
 * Serious axe findings inside GraphiQL's own markup or Monaco's theme that the page's stylesheet
 * does not fix, each pinned to the element or colours it is found with. Anything else fails.
 */
interface KnownIssue {
  id: string;
  /** The theme it shows in; both when absent. */
  colorScheme?: 'light' | 'dark';
  /** The offending element's opening tag. */
  html: RegExp;
  /** For color-contrast: the foreground colour axe measured. */
  fgColor?: string;
}
const KNOWN_GRAPHIQL_ISSUES: KnownIssue[] = [
  // Each operation tab is an <li role="tab"> holding a <button> (the title) and a close
  // <button>: interactive controls nested in an interactive role (@graphiql/react's Tabs).
  { id: 'nested-interactive', html: /^<li [^>]*role="tab"[^>]*class="graphiql-tab/ },
  // Monaco's vs-dark colours on GraphiQL's dark editor background (#212a3b): line numbers
  // #858585 reach 3.9:1, comments #608b4e 3.63:1. They live in the Monaco theme GraphiQL
  // defines at run time, out of reach of CSS.
  { id: 'color-contrast', colorScheme: 'dark', html: /^<div class="line-numbers/, fgColor: '#858585' },
  { id: 'color-contrast', colorScheme: 'dark', html: /^<span class="mtk\d+">/, fgColor: '#608b4e' },
];

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`in the ${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test('axe finds no serious or critical accessibility violations', async ({ page }, testInfo) => {
      await openGraphiQL(page);
      await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
      const explorer = page.locator('.graphiql-doc-explorer');
      await explorer.getByRole('link', { name: 'Query', exact: true }).first().click();
      await expect(explorer.getByRole('link', { name: 'posts', exact: true })).toBeVisible();

      const results = await new AxeBuilder({ page }).analyze();
      const found = results.violations
        .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
        .flatMap((violation) =>
          violation.nodes.map((node) => ({
            id: violation.id,
            help: violation.help,
            target: node.target.join(' '),
            html: node.html,
            fgColor: (node.any[0]?.data as { fgColor?: string } | undefined)?.fgColor,
          })),
        );
      const known = found.filter((finding) =>
        KNOWN_GRAPHIQL_ISSUES.some(
          (issue) =>
            issue.id === finding.id &&
            (issue.colorScheme ?? colorScheme) === colorScheme &&
            issue.html.test(finding.html) &&
            (issue.fgColor === undefined || issue.fgColor === finding.fgColor),
        ),
      );
      if (known.length > 0) {
        const ids = [...new Set(known.map((finding) => `${finding.id} (${finding.fgColor ?? finding.html.slice(0, 40)})`))];
        const description = `${known.length} elements: ${ids.join(', ')}`;
        testInfo.annotations.push({ type: 'known GraphiQL issues', description });
        console.info(`known GraphiQL issues in the ${colorScheme} theme: ${description}`);
      }
      const unexpected = found.filter((finding) => !known.includes(finding));
      expect(unexpected, JSON.stringify(unexpected, null, 2)).toEqual([]);
    });
  });
}
