import { IsAccountToken } from './account-token.validators';

export class VerifyEmailDto {
  @IsAccountToken('The `token` of the link in the verification mail (or the code it shows)')
  token: string;
}
