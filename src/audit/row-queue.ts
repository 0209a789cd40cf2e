/**
 * A first-in first-out queue on a fixed ring: O(1) push and shift, no
 * allocation per row. Never grows: the caller keeps `length < capacity`
 * before pushing (the audit sink drops its oldest row to make room).
 */
export class RowQueue<T> {
  readonly #slots: (T | undefined)[];
  #head = 0;
  #length = 0;

  /** `capacity`: the most items it can hold. */
  constructor(capacity: number) {
    this.#slots = new Array<T | undefined>(capacity);
  }

  /** Items held. */
  get length(): number {
    return this.#length;
  }

  /** Appends at the back. */
  push(item: T): void {
    if (this.#length === this.#slots.length) throw new RangeError('RowQueue is full');
    this.#slots[(this.#head + this.#length) % this.#slots.length] = item;
    this.#length++;
  }

  /** Removes the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#slots.length;
    this.#length--;
    return item;
  }

  /** Removes and returns up to `count` of the oldest items, oldest first. */
  take(count: number): T[] {
    const taken: T[] = [];
    while (taken.length < count && this.#length > 0) taken.push(this.shift() as T);
    return taken;
  }

  /** Puts `items` (oldest first) back in front of the others, as if never taken. */
  restore(items: readonly T[]): void {
    if (this.#length + items.length > this.#slots.length) {
      throw new RangeError('RowQueue cannot hold the restored items');
    }
    for (let i = items.length - 1; i >= 0; i--) {
      this.#head = (this.#head - 1 + this.#slots.length) % this.#slots.length;
      this.#slots[this.#head] = items[i];
      this.#length++;
    }
  }

  /** Empties the queue; returns how many items it held. */
  clear(): number {
    const count = this.#length;
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#length = 0;
    return count;
  }
}
