import type { ExecutionContext } from '@nestjs/common';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteMetadata } from './route-metadata';

function contextOf(handler: unknown, controller: unknown): ExecutionContext {
  return { getHandler: () => handler, getClass: () => controller } as unknown as ExecutionContext;
}

describe('RouteMetadata', () => {
  it('reads the metadata of a route once, and each route its own', () => {
    const reads: string[] = [];
    const metadata = new RouteMetadata((handler, controller) => {
      reads.push(`${controller.name}.${handler.name}`);
      return `${controller.name}.${handler.name}`;
    });
    class Users {
      list(this: void): void {}
      get(this: void): void {}
    }
    class Admins extends Users {}
    const list = Users.prototype.list;
    assert.equal(metadata.of(contextOf(list, Users)), 'Users.list');
    assert.equal(metadata.of(contextOf(list, Users)), 'Users.list');
    assert.equal(metadata.of(contextOf(Users.prototype.get, Users)), 'Users.get');
    // The same inherited handler on another controller may carry other class metadata.
    assert.equal(metadata.of(contextOf(list, Admins)), 'Admins.list');
    assert.deepEqual(reads, ['Users.list', 'Users.get', 'Admins.list']);
  });

  it('remembers an undefined answer too', () => {
    let reads = 0;
    const metadata = new RouteMetadata(() => {
      reads += 1;
      return undefined;
    });
    const handler = (): void => {};
    class Health {}
    metadata.of(contextOf(handler, Health));
    metadata.of(contextOf(handler, Health));
    assert.equal(reads, 1);
  });
});
