import { expect, test } from '@playwright/test'
import { expectAccessible, mailedCode, newUser, register, signIn, signUp } from './helpers'

test('sign up, verify the email, sign out, reset the password, sign in again', async ({ page }) => {
  const user = newUser('ana')
  await page.goto('/signup')
  await expectAccessible(page, 'sign up')
  await signUp(page, user)
  await expectAccessible(page, 'verify email')

  const code = await mailedCode(user.email, 'verification')
  await page.getByLabel('Code').fill(code)
  await page.getByLabel('Code').press('Enter')
  await expect(page.getByText('Your email address is verified.')).toBeVisible()

  await page.getByRole('link', { name: 'Go to the feed' }).click()
  await expect(page.getByRole('heading', { name: 'Feed' })).toBeVisible()
  await expect(page.getByText('not verified')).toHaveCount(0)

  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page).toHaveURL(/\/signin$/)
  await expect(page.getByTestId('signin-notice')).toHaveText('You signed out.')
  await expectAccessible(page, 'sign in')

  // A wrong password: an error for the form, focus on it, no sign-in.
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill('not the password at all')
  await page.getByLabel('Password').press('Enter')
  await expect(page.getByRole('alert')).toBeVisible()
  await expect(page.getByRole('alert')).toBeFocused()
  await expectAccessible(page, 'sign in with an error')

  await page.getByRole('link', { name: 'Forgot your password?' }).click()
  await expectAccessible(page, 'forgot password')
  await page.getByLabel('Email').fill(user.email)
  await page.getByRole('button', { name: 'Send code' }).click()
  await expect(page).toHaveURL(/\/reset\?email=/)
  await expectAccessible(page, 'reset password')
  const resetCode = await mailedCode(user.email, 'password reset')
  const newPassword = 'a completely fresh passphrase'
  await page.getByLabel('Code from the email').fill(resetCode)
  await page.getByLabel('New password').fill(newPassword)
  await page.getByLabel('New password').press('Enter')
  await expect(page).toHaveURL(/\/signin$/)
  await expect(page.getByTestId('signin-notice')).toContainText('Sign in with the new password')

  await signIn(page, { email: user.email, password: newPassword })
})

test('input errors appear next to their field', async ({ page, request }) => {
  const taken = newUser('bea')
  await register(request, taken)
  await page.goto('/signup')
  const user = newUser('bea')
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Username').fill(taken.username)
  await page.getByLabel('Password').fill(user.password)
  await page.getByLabel('Password').press('Enter')
  const username = page.getByLabel('Username')
  await expect(username).toHaveAttribute('aria-invalid', 'true')
  await expect(username).toBeFocused()
  await expect(username).toHaveAccessibleDescription(/That username is taken/)
  await expectAccessible(page, 'sign up with an error')

  await username.fill('Not Valid!')
  await page.getByLabel('Password').fill('password')
  await page.getByLabel('Password').press('Enter')
  await expect(page.locator('[aria-invalid="true"]')).toHaveCount(1)
})
