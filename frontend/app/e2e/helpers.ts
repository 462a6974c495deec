/** What the browser tests share: users, the server's log, the API, axe, screenshots, sockets. */
import AxeBuilder from '@axe-core/playwright'
import { expect, type APIRequestContext, type Browser, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const SCREENSHOTS = join(import.meta.dirname, '../test-results/screenshots')

let counter = 0

/** A new user's details, unique in this run. */
export function newUser(name: string) {
  counter += 1
  const tag = `${Date.now().toString(36)}${counter}`
  const username = `${name}_${tag}`.toLowerCase()
  return {
    email: `${username}@example.com`,
    username,
    displayName: `${name[0].toUpperCase()}${name.slice(1)} ${counter}`,
    password: `plaza lantern ${tag} orbit`,
  }
}

export type User = ReturnType<typeof newUser>

/** The newest emailed code of `kind` for `email`, read from the server's JSON log. */
export async function mailedCode(email: string, kind: 'verification' | 'password reset'): Promise<string> {
  const log = join(process.env.E2E_DIR ?? '', 'server.log')
  let code: string | undefined
  await expect
    .poll(
      () => {
        code = undefined
        for (const line of readFileSync(log, 'utf8').split('\n')) {
          if (!line.startsWith('{')) continue
          const entry = JSON.parse(line) as Record<string, unknown>
          const fields = (entry.fields as Record<string, unknown> | undefined) ?? entry
          if (fields.to !== email || !String(fields.subject).includes(kind)) continue
          code = /code is (\d{6,12})/.exec(String(fields.body))?.[1] ?? code
        }
        return code
      },
      { message: `a ${kind} code mailed to ${email}`, timeout: 10_000 },
    )
    .toBeTruthy()
  return code as string
}

/** Runs a GraphQL operation over HTTP, failing the test on errors. */
export async function api<T = Record<string, unknown>>(
  request: APIRequestContext,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const response = await request.post('/graphql', {
    data: { query, variables },
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  const body = (await response.json()) as { data?: T; errors?: unknown[] }
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined()
  return body.data as T
}

/** Registers `user` over the API; returns its token. */
export async function register(request: APIRequestContext, user: User): Promise<string> {
  const data = await api<{ register: { token: string } }>(
    request,
    'mutation ($input: RegisterInput!) { register(input: $input) { token } }',
    { input: { email: user.email, username: user.username, password: user.password, displayName: user.displayName } },
  )
  return data.register.token
}

/** Signs `user` up through the screens, landing on the verify screen. */
export async function signUp(page: Page, user: User) {
  await page.goto('/signup')
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Username').fill(user.username)
  await page.getByLabel('Display name (optional)').fill(user.displayName)
  await page.getByLabel('Password').fill(user.password)
  await page.getByLabel('Password').press('Enter')
  await expect(page).toHaveURL(/\/verify$/)
  await expect(page.getByRole('heading', { name: 'Verify your email' })).toBeVisible()
}

/** Signs in through the sign-in screen. */
export async function signIn(page: Page, user: Pick<User, 'email' | 'password'>) {
  await page.goto('/signin')
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: 'Feed' })).toBeVisible()
}

/** A page of a new browser context already holding `token` (as after signing in). */
export async function pageWithToken(browser: Browser, token: string, path = '/'): Promise<Page> {
  const context = await browser.newContext()
  await context.addInitScript((value) => {
    if (!window.sessionStorage.getItem('e2e-token-set')) {
      window.localStorage.setItem('townsquare.token', value)
      window.sessionStorage.setItem('e2e-token-set', '1')
    }
  }, token)
  const page = await context.newPage()
  await page.goto(path)
  return page
}

/** Fails on any serious or critical axe-core violation of the page as it is now. */
export async function expectAccessible(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).analyze()
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  expect(summary, `axe on ${screen}`).toEqual([])
}

/** Counts the GraphQL sockets a page opens. */
export function countSockets(page: Page): () => number {
  let opened = 0
  page.on('websocket', (socket) => {
    if (socket.url().endsWith('/graphql')) opened += 1
  })
  return () => opened
}

/** Saves a full-page screenshot under test-results/screenshots/. */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** The page's text, to count how often something is shown. */
export async function occurrences(page: Page, text: string): Promise<number> {
  const body = await page.locator('body').innerText()
  return body.split(text).length - 1
}

/** Collects console errors (a CSP refusal, a failed load) of a page, to assert there are none. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(String(error)))
  return errors
}
