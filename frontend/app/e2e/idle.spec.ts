import { expect, test } from '@playwright/test'
import { api, countSockets, newUser, register, signUp } from './helpers'

test('an idle socket pauses; activity resumes it and shows what came meanwhile exactly once', async ({
  page,
  request,
}) => {
  const fay = newUser('fay')
  const gus = newUser('gus')
  const gusToken = await register(request, gus)
  const sockets = countSockets(page)

  await signUp(page, fay)
  await page.getByRole('link', { name: 'Later' }).click()
  await page.getByLabel('New post').fill('Anyone around?')
  await page.getByRole('button', { name: 'Post', exact: true }).click()
  await expect(page.getByTestId('post').filter({ hasText: 'Anyone around?' })).toBeVisible()
  const { posts } = await api<{ posts: { edges: { node: { id: string } }[] } }>(
    request,
    '{ posts(first: 1) { edges { node { id } } } }',
  )

  // SESSION_TIMEOUT_MINUTES=0.1: six quiet seconds, then 1008 "Session idle timeout".
  const banner = page.getByTestId('connection-banner')
  await expect(banner).toHaveAttribute('data-status', 'paused', { timeout: 15_000 })
  await expect(banner).toContainText('paused')
  const openedBeforeResume = sockets()

  // A notification arrives while paused: nothing live, and no reconnect by itself.
  await api(request, 'mutation ($id: ID!) { likePost(postId: $id) { id } }', { id: posts.edges[0].node.id }, gusToken)
  await page.waitForTimeout(2_000)
  await expect(page.getByTestId('unread-badge')).toHaveCount(0)
  expect(sockets()).toBe(openedBeforeResume)

  // Activity: one new socket, the backlog brings the notification, once.
  await page.keyboard.press('Shift')
  await expect(page.getByTestId('unread-badge')).toHaveText('1 unread', { timeout: 5_000 })
  await expect(banner).toHaveCount(0)
  expect(sockets()).toBe(openedBeforeResume + 1)

  await page.getByRole('link', { name: /Notifications/ }).click()
  await expect(page.getByTestId('notification')).toHaveCount(1)
  await expect(page.getByTestId('notification')).toContainText(`${gus.displayName} liked your post`)

  // Pausing and resuming again replays the unread backlog; it still shows once.
  await expect(banner).toHaveAttribute('data-status', 'paused', { timeout: 15_000 })
  // The click that resumes still does what it was for (the banner moves nothing away).
  await page.getByRole('link', { name: 'Feed' }).click()
  await expect(page.getByRole('heading', { name: 'Feed' })).toBeVisible()
  await expect(banner).toHaveCount(0)
  await page.getByRole('link', { name: /Notifications/ }).click()
  await page.waitForTimeout(1_000)
  await expect(page.getByTestId('notification')).toHaveCount(1)
  await expect(page.getByTestId('unread-badge')).toHaveText('1 unread')
  expect(sockets()).toBe(openedBeforeResume + 2)
})
