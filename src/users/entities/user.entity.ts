import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  OneToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';
import { UserRole } from './user-role.entity';

// Usernames and emails are stored in canonical (lower-case) form, so plain unique indexes give
// case-insensitive uniqueness; the checks stop any writer from storing another form.
@Entity({ name: 'users' })
@Index('UQ_users_username', ['username'], { unique: true })
@Index('UQ_users_email', ['email'], { unique: true })
@Index('IDX_users_created_at', ['createdAt', 'id'])
@Index('IDX_users_is_active', ['isActive'])
@Check('CHK_users_username_canonical', 'username = lower(username)')
@Check('CHK_users_email_canonical', 'email = lower(email)')
export class User {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_users' })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  username: string;

  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false })
  passwordHash: string;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive: boolean;

  /** When the user proved the current email is theirs (SPEC §8); null: not verified. */
  @Column({ name: 'email_verified_at', type: TIMESTAMP_TYPE, nullable: true })
  emailVerifiedAt: Date | null;

  /** Access tokens issued before this instant are refused. */
  @Column({ name: 'password_changed_at', type: TIMESTAMP_TYPE, nullable: true })
  passwordChangedAt: Date | null;

  /** Consecutive failed logins since the last success (or admin unlock). */
  @Column({ name: 'failed_login_count', type: 'integer', default: 0 })
  failedLoginCount: number;

  /** While in the future, every login fails as if the password were wrong. */
  @Column({ name: 'locked_until', type: TIMESTAMP_TYPE, nullable: true })
  lockedUntil: Date | null;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: TIMESTAMP_TYPE })
  updatedAt: Date;

  @OneToMany(() => UserRole, (userRole) => userRole.user)
  userRoles: UserRole[];
}
