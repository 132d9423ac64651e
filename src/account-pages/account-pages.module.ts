import { Module, RequestMethod } from '@nestjs/common';
import { AccountLifecycleModule } from '../account-lifecycle/account-lifecycle.module';
import { AccountPagesController } from './account-pages.controller';

const FORM_PATHS = [
  'account/verify-email',
  'account/reset-password',
  'account/confirm-email-change',
] as const;

/** The pages' routes, served outside the API's /api/v1 prefix (app.setup.ts). */
export const ACCOUNT_PAGE_ROUTES: ReadonlyArray<{ path: string; method: RequestMethod }> = [
  ...FORM_PATHS.flatMap((path) => [
    { path, method: RequestMethod.GET },
    { path, method: RequestMethod.POST },
  ]),
  { path: 'account/style.css', method: RequestMethod.GET },
];

/** The operations that take the pages' form-encoded bodies (`POST /account/verify-email`). */
export const ACCOUNT_PAGE_FORMS: readonly string[] = FORM_PATHS.map((path) => `POST /${path}`);

/**
 * Server-rendered pages for the links of account mails (src/account-pages/account-pages.controller.ts),
 * over the account-lifecycle services the JSON API uses too.
 */
@Module({
  imports: [AccountLifecycleModule],
  controllers: [AccountPagesController],
})
export class AccountPagesModule {}
