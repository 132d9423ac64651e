import { CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';
import { Role } from './role.entity';
import { User } from './user.entity';

/** The `users_to_roles` join: one row per granted role, removed with either side. */
@Entity({ name: 'users_to_roles' })
@Index('IDX_users_to_roles_role', ['roleId', 'userId'])
export class UserRole {
  @PrimaryColumn({ name: 'user_id', type: 'uuid', primaryKeyConstraintName: 'PK_users_to_roles' })
  userId: string;

  @PrimaryColumn({
    name: 'role_id',
    type: 'integer',
    primaryKeyConstraintName: 'PK_users_to_roles',
  })
  roleId: number;

  @ManyToOne(() => User, (user) => user.userRoles, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_users_to_roles_user' })
  user: User;

  @ManyToOne(() => Role, { onDelete: 'CASCADE', eager: false })
  @JoinColumn({ name: 'role_id', foreignKeyConstraintName: 'FK_users_to_roles_role' })
  role: Role;

  @CreateDateColumn({ name: 'granted_at', type: TIMESTAMP_TYPE })
  grantedAt: Date;
}
