import type { ExecutionContext } from '@nestjs/common';

type Target = (...args: never[]) => unknown;

/**
 * Route metadata (decorators) read once per route instead of on every request: guards ask
 * the Reflector for the same handler's metadata on each call, and its prototype-chain lookups
 * were a visible share of a cached request. Decorators are applied when the classes are
 * defined, so the answer never changes. Keyed by handler and class (a handler inherited by two
 * controllers may carry different class metadata).
 */
export class RouteMetadata<T> {
  private readonly byHandler = new WeakMap<Target, WeakMap<Target, { value: T }>>();

  constructor(private readonly read: (handler: Target, controller: Target) => T) {}

  of(context: ExecutionContext): T {
    const handler = context.getHandler() as Target;
    const controller = context.getClass() as unknown as Target;
    let byClass = this.byHandler.get(handler);
    if (byClass === undefined) {
      byClass = new WeakMap();
      this.byHandler.set(handler, byClass);
    }
    let entry = byClass.get(controller);
    if (entry === undefined) {
      entry = { value: this.read(handler, controller) };
      byClass.set(controller, entry);
    }
    return entry.value;
  }
}
