/** The roles of the service; higher ones imply the lower (role-hierarchy.ts). */
export enum RoleName {
  User = 'ROLE_USER',
  Moderator = 'ROLE_MODERATOR',
  Admin = 'ROLE_ADMIN',
}
