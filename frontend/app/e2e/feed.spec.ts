import { expect, test } from '@playwright/test'
import { api, consoleErrors, expectAccessible, newUser, register, screenshot, signUp } from './helpers'

test('a like on my post raises my badge live; contacts and notifications', async ({ page, request }) => {
  const carol = newUser('carol')
  const dave = newUser('dave')
  const errors = consoleErrors(page)
  const daveToken = await register(request, dave)
  await api(request, 'mutation ($body: String!) { createPost(body: $body) { id } }', { body: 'Dave was here' }, daveToken)

  await signUp(page, carol)
  await page.getByRole('link', { name: 'Later' }).click()
  await expect(page.getByRole('heading', { name: 'Feed' })).toBeVisible()
  await expect(page.getByTestId('unread-badge')).toHaveCount(0)

  await page.getByLabel('New post').fill('Sunny day on the square')
  await page.getByRole('button', { name: 'Post', exact: true }).click()
  const mine = page.getByTestId('post').filter({ hasText: 'Sunny day on the square' })
  await expect(mine).toBeVisible()

  const { posts } = await api<{ posts: { edges: { node: { id: string; body: string } }[] } }>(
    request,
    '{ posts(first: 5) { edges { node { id body } } } }',
  )
  const postId = posts.edges.find((e) => e.node.body === 'Sunny day on the square')?.node.id
  await api(request, 'mutation ($id: ID!) { likePost(postId: $id) { id } }', { id: postId }, daveToken)
  await expect(page.getByTestId('unread-badge')).toHaveText('1 unread', { timeout: 3_000 })

  await api(
    request,
    'mutation ($id: ID!) { addComment(postId: $id, body: "Lovely") { id } }',
    { id: postId },
    daveToken,
  )
  await expect(page.getByTestId('unread-badge')).toHaveText('2 unread', { timeout: 3_000 })

  // Carol likes and comments on Dave's post, and adds him to her contacts.
  const daves = page.getByTestId('post').filter({ hasText: 'Dave was here' })
  await daves.getByRole('button', { name: 'Like' }).click()
  await expect(daves.getByRole('button', { name: 'Like' })).toHaveAttribute('aria-pressed', 'true')
  await expect(daves.getByTestId('like-count')).toContainText(`1 like · liked by ${carol.displayName}`)
  await daves.getByRole('textbox', { name: 'Write a comment' }).fill('Hello Dave')
  await daves.getByRole('textbox', { name: 'Write a comment' }).press('Enter')
  await expect(daves.getByText('Hello Dave')).toBeVisible()
  await expect(daves.getByText(`1 comment from ${carol.displayName}`)).toBeVisible()
  await daves.getByRole('button', { name: 'Add to contacts' }).click()
  await expect(daves.getByText('In your contacts')).toBeVisible()
  await mine.getByRole('button', { name: 'Like' }).click()
  await expect(mine.getByTestId('like-count')).toContainText('2 likes')

  await expectAccessible(page, 'feed')
  await screenshot(page, 'feed')

  await page.getByRole('link', { name: /Notifications/ }).click()
  await expect(page.getByRole('heading', { name: 'Notifications' })).toBeVisible()
  await expect(page.getByTestId('notification')).toHaveCount(2)
  await expectAccessible(page, 'notifications')
  await page.getByRole('button', { name: 'Mark all as read' }).click()
  await expect(page.getByTestId('unread-badge')).toHaveCount(0)
  await expect(page.getByText('Nothing unread.')).toBeVisible()

  await page.getByRole('link', { name: 'Contacts' }).click()
  await expect(page.getByTestId('contact')).toHaveCount(1)
  await expect(page.getByTestId('contact')).toContainText(dave.displayName)
  await expect(page.getByTestId('contact')).toContainText('offline')
  await expectAccessible(page, 'contacts')

  // 360 px wide: the feed fits.
  await page.setViewportSize({ width: 360, height: 740 })
  await page.getByRole('link', { name: 'Feed' }).click()
  await expect(page.getByTestId('post').first()).toBeVisible()
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360)
  await expectAccessible(page, 'feed at 360 px')
  await screenshot(page, 'feed-360px')
  expect(errors, 'console errors (CSP refusals, failed loads)').toEqual([])
})
