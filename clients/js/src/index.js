// @redrtc/client: the JavaScript SDK of the RedRTC signaling server.
// docs/client.md documents it; index.d.ts types it.
export { RedRTCClient, SUBPROTOCOL, SERVER_EVENTS, backoffDelay } from './client.js';
export { MeshCall } from './mesh.js';
export { RedRTCError } from './errors.js';
