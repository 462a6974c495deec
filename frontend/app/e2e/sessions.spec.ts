import { expect, test } from '@playwright/test'
import { countSockets, expectAccessible, newUser, screenshot, signIn, signUp } from './helpers'

test('sessions: revoke one, sign out everywhere else, and signing out sends the other tab to sign-in', async ({
  browser,
}) => {
  const erin = newUser('erin')
  const home = await browser.newContext()
  const tab1 = await home.newPage()
  const tab1Sockets = countSockets(tab1)
  await signUp(tab1, erin)

  // Two more sign-ins elsewhere: a laptop and a phone.
  const laptop = await (await browser.newContext()).newPage()
  await signIn(laptop, erin)
  const phone = await (await browser.newContext()).newPage()
  await signIn(phone, erin)

  const tab2 = await home.newPage()
  const tab2Sockets = countSockets(tab2)
  await tab2.goto('/')
  await expect(tab2.getByRole('heading', { name: 'Feed' })).toBeVisible()

  await tab1.getByRole('link', { name: 'Sessions' }).click()
  await expect(tab1.getByRole('heading', { name: 'Your sessions' })).toBeVisible()
  await expect(tab1.getByTestId('session')).toHaveCount(3)
  await expect(tab1.getByTestId('session').filter({ hasText: 'This device' })).toHaveCount(1)
  await expect(tab1.getByTestId('session').first()).toContainText('This device')
  await expect(tab1.getByTestId('session').first()).toContainText('Chrome on Linux')
  await expectAccessible(tab1, 'sessions')
  await screenshot(tab1, 'sessions')

  // Revoke one other session: that browser lands on sign-in and stays there.
  const others = tab1.getByTestId('session').filter({ hasNotText: 'This device' })
  await others.first().getByRole('button', { name: 'Sign out this session' }).click()
  await expect(tab1.getByText('That session is signed out.')).toBeVisible()
  await expect(tab1.getByTestId('session')).toHaveCount(2)
  // Which one was first is not known here; one of the two lands on sign-in.
  await expect
    .poll(async () => [laptop, phone].filter((p) => p.url().endsWith('/signin')).length, { timeout: 5_000 })
    .toBe(1)

  await tab1.getByRole('button', { name: 'Sign out everywhere else' }).click()
  await expect(tab1.getByText('Signed out 1 other session.')).toBeVisible()
  await expect(tab1.getByTestId('session')).toHaveCount(1)
  for (const page of [laptop, phone]) {
    await expect(page).toHaveURL(/\/signin$/, { timeout: 5_000 })
    await expect(page.getByTestId('signin-notice')).toHaveText(/signed out/)
  }

  // Signing out in tab 1 sends tab 2 (same browser, same session) to sign-in; neither reconnects.
  await expect.poll(tab2Sockets).toBeGreaterThan(0)
  await tab1.getByRole('button', { name: 'Sign out' }).click()
  await expect(tab1).toHaveURL(/\/signin$/)
  await expect(tab1.getByTestId('signin-notice')).toHaveText('You signed out.')
  await expect(tab2).toHaveURL(/\/signin$/, { timeout: 3_000 })
  await expect(tab2.getByTestId('signin-notice')).toHaveText(/You were signed out/)
  const opened = [tab1Sockets(), tab2Sockets()]
  await tab2.waitForTimeout(4_000)
  await tab2.mouse.click(10, 10)
  await tab2.keyboard.press('Tab')
  await tab1.mouse.click(10, 10)
  await tab1.waitForTimeout(1_000)
  expect([tab1Sockets(), tab2Sockets()]).toEqual(opened)
  expect(await tab2.evaluate(() => window.localStorage.getItem('townsquare.token'))).toBeNull()
})
