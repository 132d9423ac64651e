import { Clock } from '../../src/common/clock/clock';

/** A clock tests move by hand. Starts at the real time so tokens look ordinary. */
export class TestClock extends Clock {
  private current = new Date();

  now(): Date {
    return new Date(this.current.getTime());
  }

  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }

  set(date: Date): void {
    this.current = new Date(date.getTime());
  }
}
