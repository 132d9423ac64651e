import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { RoleName } from '../../access/role-name';

@Entity({ name: 'roles' })
@Index('UQ_roles_name', ['name'], { unique: true })
export class Role {
  @PrimaryGeneratedColumn({ type: 'integer', primaryKeyConstraintName: 'PK_roles' })
  id: number;

  @Column({ type: 'varchar', length: 32 })
  name: RoleName;
}
