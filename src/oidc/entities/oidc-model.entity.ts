import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';

/**
 * What oidc-provider stores through its adapter (sessions, interactions, codes, tokens, grants),
 * one row per model: `kind` is the model name, `payload` its JSON. `grant_id`, `uid` and
 * `user_code` are the provider's lookup keys; `expires_at` lets pruning remove dead rows.
 */
@Entity({ name: 'oidc_models' })
@Index('IDX_oidc_models_grant', ['grantId'])
@Index('IDX_oidc_models_uid', ['uid'])
@Index('IDX_oidc_models_user_code', ['userCode'])
@Index('IDX_oidc_models_expires', ['expiresAt'])
export class OidcModel {
  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_oidc_models' })
  kind: string;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'PK_oidc_models' })
  id: string;

  @Column({ type: 'text' })
  payload: string;

  @Column({ name: 'grant_id', type: 'varchar', length: 255, nullable: true })
  grantId: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  uid: string | null;

  @Column({ name: 'user_code', type: 'varchar', length: 255, nullable: true })
  userCode: string | null;

  @Column({ name: 'expires_at', type: TIMESTAMP_TYPE, nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'consumed_at', type: TIMESTAMP_TYPE, nullable: true })
  consumedAt: Date | null;
}
