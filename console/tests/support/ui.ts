// Steps through the console's own pages that several tests share.
import type { Page } from '@playwright/test';
import { expect } from './fixtures';

/** Fills and sends the sign-in form the page shows. */
export async function submitSignIn(page: Page, email: string, password: string): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Fills and sends the sign-up form the page shows. */
export async function submitSignUp(page: Page, person: { name: string; email: string; password: string }): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
  await page.getByLabel('Name').fill(person.name);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** Goes to one of the organization's sections through its navigation. */
export async function openSection(page: Page, section: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Organization' }).getByRole('link', { name: section, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: section })).toBeVisible();
}
