import { expect, test } from '@playwright/test'
import { expectAccessible, newUser, occurrences, screenshot, signUp } from './helpers'

test('two people in one room: presence, typing, messages live', async ({ browser }) => {
  const a = await (await browser.newContext()).newPage()
  const b = await (await browser.newContext()).newPage()
  const alice = newUser('alice')
  const bob = newUser('bob')
  await signUp(a, alice)
  await signUp(b, bob)

  await a.getByRole('link', { name: 'Rooms' }).click()
  await expect(a.getByRole('heading', { name: 'Rooms' })).toBeVisible()
  await expectAccessible(a, 'rooms')
  const roomName = `Plaza ${Date.now().toString(36)}`
  await a.getByLabel('Room name').fill(roomName)
  await a.getByLabel('Room name').press('Enter')
  await expect(a.getByRole('heading', { name: roomName })).toBeVisible()
  const roomUrl = a.url()

  await b.goto(roomUrl)
  await expect(b.getByRole('heading', { name: roomName })).toBeVisible()

  for (const page of [a, b]) {
    await expect(page.getByTestId('room-presence')).toContainText('2 online')
    await expect(page.getByText('2 online', { exact: true })).toHaveCount(1)
    expect(await occurrences(page, 'online')).toBe(1)
    await expect(page.getByTestId('room-presence')).toContainText(alice.displayName)
    await expect(page.getByTestId('room-presence')).toContainText(bob.displayName)
  }

  // Bob types without sending: Alice sees it, then it lapses.
  const bobComposer = b.getByRole('textbox', { name: `Message ${roomName}` })
  await bobComposer.pressSequentially('hel', { delay: 30 })
  await expect(a.getByTestId('typing')).toHaveText(`${bob.displayName} is typing…`)
  await expect(a.getByTestId('typing')).toHaveText('', { timeout: 6_000 })
  await bobComposer.fill('')

  // Alice sends with Enter: Bob has it within a second.
  const aliceComposer = a.getByRole('textbox', { name: `Message ${roomName}` })
  await aliceComposer.fill('Hello from Alice')
  await aliceComposer.press('Enter')
  await expect(b.getByTestId('messages').getByText('Hello from Alice')).toBeVisible({ timeout: 1_000 })
  await expect(aliceComposer).toHaveValue('')

  // Shift+Enter is a new line; Enter then sends both lines as one message.
  await aliceComposer.press('Shift+Enter')
  await expect(aliceComposer).toHaveValue('\n')
  await aliceComposer.fill('first line')
  await aliceComposer.press('Shift+Enter')
  await aliceComposer.pressSequentially('second line')
  await aliceComposer.press('Enter')
  const twoLines = b.getByTestId('messages').locator('.body', { hasText: 'first line' })
  await expect(twoLines).toHaveText('first line\nsecond line', { timeout: 1_000 })

  // Bob answers; each message appears once on each side.
  await bobComposer.fill('Hi Alice')
  await bobComposer.press('Enter')
  for (const page of [a, b]) {
    await expect(page.getByTestId('messages').getByText('Hi Alice')).toHaveCount(1)
    await expect(page.getByTestId('messages').getByText('Hello from Alice')).toHaveCount(1)
  }

  await expectAccessible(a, 'room')
  await screenshot(a, 'room')

  // A narrow phone: nothing scrolls sideways.
  await b.setViewportSize({ width: 360, height: 740 })
  await expect(b.getByTestId('messages')).toBeVisible()
  expect(await b.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360)
  await screenshot(b, 'room-360px')
})
