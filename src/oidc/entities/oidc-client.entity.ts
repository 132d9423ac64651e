import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { TIMESTAMP_TYPE } from '../../database/column-types';

/**
 * A relying party of the OpenID Provider (SPEC §10), as an admin registered it. Lists are JSON
 * arrays in text columns (both databases); the secret of a confidential client is kept only as
 * its SHA-256 (it is 256 random bits, so a slow hash adds nothing; docs/decisions.md).
 */
@Entity({ name: 'oidc_clients' })
export class OidcClient {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'PK_oidc_clients' })
  id: string;

  @Column({ name: 'client_name', type: 'varchar', length: 200 })
  clientName: string;

  /** Hex SHA-256 of the client secret; null for a public client (`none`). */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64, nullable: true })
  secretHash: string | null;

  /** `web` (a browser or server app) or `native` (a mobile or desktop app). */
  @Column({ name: 'application_type', type: 'varchar', length: 16 })
  applicationType: 'web' | 'native';

  @Column({ name: 'redirect_uris', type: 'text' })
  redirectUris: string;

  @Column({ name: 'post_logout_redirect_uris', type: 'text' })
  postLogoutRedirectUris: string;

  @Column({ name: 'grant_types', type: 'text' })
  grantTypes: string;

  @Column({ name: 'response_types', type: 'text' })
  responseTypes: string;

  /** `none` (public, PKCE), `client_secret_basic` or `client_secret_post`. */
  @Column({ name: 'token_endpoint_auth_method', type: 'varchar', length: 32 })
  tokenEndpointAuthMethod: string;

  /** Space-separated scopes the client may ask for. */
  @Column({ type: 'varchar', length: 500 })
  scope: string;

  /** A first-party client skips the consent page. */
  @Column({ name: 'first_party', type: 'boolean', default: false })
  firstParty: boolean;

  @CreateDateColumn({ name: 'created_at', type: TIMESTAMP_TYPE })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: TIMESTAMP_TYPE })
  updatedAt: Date;
}
