// A small typed event emitter shared by RedRTCClient and MeshCall: browsers
// and Node.js both have EventTarget, but handlers that take the event's data
// directly are what the TypeScript declarations can type per event.
export class Emitter {
  #handlers = new Map();

  /** Calls handler with each event's data; returns a function that stops it. */
  on(event, handler) {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => this.off(event, handler);
  }

  off(event, handler) {
    this.#handlers.get(event)?.delete(handler);
  }

  /** Calls handler with the next event's data only. */
  once(event, handler) {
    const off = this.on(event, (data) => {
      off();
      handler(data);
    });
    return off;
  }

  emit(event, data) {
    const set = this.#handlers.get(event);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(data);
      } catch (err) {
        // One application handler's bug must not stop the others or the
        // client's own bookkeeping; it is reported as an uncaught error.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
