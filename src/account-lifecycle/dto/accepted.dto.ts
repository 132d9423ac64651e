import { ApiProperty } from '@nestjs/swagger';

/** The answer of a request whose mail goes out later (202). */
export class AcceptedDto {
  @ApiProperty({
    example: 'If an account has this address, a link to reset its password is on its way to it',
  })
  message: string;
}
