/**
 * An error from the server (an `error` event; its `code` is the protocol's,
 * docs/protocol.md) or from the client itself: `timeout`, `disconnected`,
 * `closed`, `bad-message`.
 */
export class RedRTCError extends Error {
  constructor(code, message, event) {
    super(message || code);
    this.name = 'RedRTCError';
    this.code = code;
    if (event !== undefined) this.event = event;
  }
}
