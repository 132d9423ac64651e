import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type ValueTransformer,
} from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';
import { User } from '../../users/entities/user.entity';

// PostgreSQL returns bigint as a string; a WebAuthn signature counter is an unsigned 32-bit value.
const bigintAsNumber: ValueTransformer = {
  to: (value: number) => value,
  from: (value: string | number) => Number(value),
};

/**
 * A WebAuthn credential (passkey) registered by a user, as @simplewebauthn/server verified it:
 * the credential id and COSE public key (base64url), the signature counter, and whether the
 * authenticator may sync it (`device_type` multiDevice, `backed_up`).
 */
@Entity({ name: 'webauthn_credentials' })
@Index('UQ_webauthn_credentials_credential_id', ['credentialId'], { unique: true })
@Index('IDX_webauthn_credentials_user', ['userId'])
export class Passkey {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_webauthn_credentials' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_webauthn_credentials_user' })
  user: User;

  // base64url of up to 1023 bytes (the WebAuthn limit).
  @Column({ name: 'credential_id', type: 'varchar', length: 1400 })
  credentialId: string;

  @Column({ name: 'public_key', type: 'text' })
  publicKey: string;

  @Column({ name: 'sign_count', type: 'bigint', transformer: bigintAsNumber })
  signCount: number;

  /** Comma-separated AuthenticatorTransport values the browser reported (usb, internal, ...). */
  @Column({ type: 'varchar', length: 128, nullable: true })
  transports: string | null;

  @Column({ name: 'device_type', type: 'varchar', length: 16 })
  deviceType: 'singleDevice' | 'multiDevice';

  @Column({ name: 'backed_up', type: 'boolean' })
  backedUp: boolean;

  @Column({ type: 'varchar', length: 36, nullable: true })
  aaguid: string | null;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: TIMESTAMP_TYPE, nullable: true })
  lastUsedAt: Date | null;
}
