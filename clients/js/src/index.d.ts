// Type declarations of @redrtc/client (checked by `npm run typecheck`).

/** A protocol error code (docs/protocol.md), or one of the client's own. */
export type ErrorCode =
  | 'bad-json'
  | 'bad-request'
  | 'unknown-event'
  | 'not-in-room'
  | 'target-not-found'
  | 'room-full'
  | 'room-limit'
  | 'server-full'
  | 'rate-limited'
  | 'join-timeout'
  | 'room-closed'
  | 'unauthorized'
  | 'resume-failed'
  | 'cluster-unavailable'
  | 'token-failed'
  | 'timeout'
  | 'disconnected'
  | 'closed'
  | 'bad-message'
  | (string & {});

export declare class RedRTCError extends Error {
  constructor(code: ErrorCode, message?: string, event?: string);
  readonly name: 'RedRTCError';
  /** Match on this: the server's error code, or timeout, disconnected, closed, bad-message, token-failed. */
  readonly code: ErrorCode;
  /** The client event that caused a server error, when the server names it. */
  readonly event?: string;
}

export interface RoomJoined {
  roomId: string;
  roomName: string;
  /** Every member's client id, this client's included, in join order. */
  participants: string[];
  /** Sent by servers configured with STUN/TURN (protocol 1.x, issue 18); pass to RTCPeerConnection. */
  iceServers?: RTCIceServer[];
}

/** The resumed event: the session came back on a new connection. */
export interface Resumed {
  /** The session's id, the same as before the drop. */
  clientId: string;
  /** The room as the server has it now, or null when in none. */
  roomId: string | null;
  participants: string[];
  /** How many events missed during the drop follow, as their own events. */
  missed: number;
  /** How many the server no longer had: state is stale, renegotiate (MeshCall does). */
  dropped: number;
}

/** A token, or a function called for a fresh one at each connect (or join). */
export type TokenSource = string | (() => string | Promise<string>);

export interface ClientEvents {
  // Server events, with their data.
  'client-id': { clientId: string; resumeToken?: string };
  'room-created': { roomId: string; roomName: string };
  'room-joined': RoomJoined;
  participants: { roomId: string; participants: string[] };
  'room-left': { roomId: string };
  offer: { fromClientId: string; offer: RTCSessionDescriptionInit };
  answer: { fromClientId: string; answer: RTCSessionDescriptionInit };
  'ice-candidate': { fromClientId: string; candidate: RTCIceCandidateInit };
  pong: Record<string, never>;
  error: RedRTCError;
  resumed: Resumed;
  // The client's own events.
  /** resumed: true when the connection took the session over (same id); false for a new session. */
  open: { clientId: string; reconnected: boolean; resumed: boolean };
  close: { code: number; reason: string; willReconnect: boolean };
  reconnecting: { attempt: number; delay: number };
  'rejoin-failed': RedRTCError;
}

export interface ClientOptions {
  /** A WebSocket constructor, where there is no global one (Node.js 20 without --experimental-websocket). */
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocket;
  /** An access token sent at each connect as ?token=; a function is called for a fresh one each time. */
  token?: TokenSource;
  /** Reconnect after the connection drops (default true). */
  reconnect?: boolean;
  /** Ack events and resume the session after a drop (default true). */
  resume?: boolean;
  /** Ack handled events within this many ms (default 200), or at once after 16. */
  ackDelay?: number;
  /** With a token, give up (error unauthorized) after this many refused connections in a row (default 3; 0: never). */
  maxAuthFailures?: number;
  /** First reconnect delay in ms (default 500); doubles up to maxReconnectDelay. */
  minReconnectDelay?: number;
  /** Longest reconnect delay in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Send a ping after this many ms without a message from the server (default 25000; 0: never). */
  pingInterval?: number;
  /** Drop the socket and reconnect when a ping gets no pong for this many ms (default 10000). */
  pingTimeout?: number;
  /** Reject join, leave and ping, and drop a socket whose resume goes unanswered, after this many ms without an answer (default 10000). */
  requestTimeout?: number;
}

export interface JoinOptions {
  /** The room's name, used when this join creates it. */
  name?: string;
  /** An access token for this room (sent as join-room's data.token); a function is called at each join and rejoin. */
  token?: TokenSource;
}

declare class Emitter<Events> {
  on<K extends keyof Events>(event: K, handler: (data: Events[K]) => void): () => void;
  once<K extends keyof Events>(event: K, handler: (data: Events[K]) => void): () => void;
  off<K extends keyof Events>(event: K, handler: (data: Events[K]) => void): void;
}

export declare const SUBPROTOCOL: 'webrtc-signaling';
export declare const SERVER_EVENTS: readonly (keyof ClientEvents)[];
export declare function backoffDelay(attempt: number, min?: number, max?: number, random?: () => number): number;

export declare class RedRTCClient extends Emitter<ClientEvents> {
  constructor(url: string, options?: ClientOptions);
  readonly clientId: string | null;
  readonly roomId: string | null;
  readonly room: RoomJoined | null;
  readonly state: 'connecting' | 'open' | 'reconnecting' | 'closed';
  readonly resumeToken: string | null;
  readonly lastSeq: number | null;
  /** Resolves with the client id once the server has sent client-id. */
  readonly ready: Promise<string>;
  join(roomId?: string | null, options?: JoinOptions): Promise<RoomJoined>;
  leave(): Promise<{ roomId: string }>;
  sendOffer(targetClientId: string, offer: RTCSessionDescriptionInit | RTCSessionDescription): void;
  sendAnswer(targetClientId: string, answer: RTCSessionDescriptionInit | RTCSessionDescription): void;
  sendCandidate(targetClientId: string, candidate: RTCIceCandidateInit | RTCIceCandidate): void;
  ping(): Promise<void>;
  close(): void;
}

export interface Peer {
  pc: RTCPeerConnection;
  stream: MediaStream | null;
  state: RTCPeerConnectionState;
  polite: boolean;
}

export interface MeshEvents {
  peer: { peerId: string; pc: RTCPeerConnection };
  stream: { peerId: string; stream: MediaStream };
  track: { peerId: string; track: MediaStreamTrack; stream: MediaStream };
  'connection-state': { peerId: string; state: RTCPeerConnectionState };
  'peer-left': { peerId: string };
  error: { peerId: string; error: Error };
}

export interface MeshOptions {
  localStream?: MediaStream | null;
  /** Used when the server sends no iceServers in room-joined. */
  iceServers?: RTCIceServer[];
  /** Other RTCPeerConnection settings. */
  rtcConfig?: RTCConfiguration;
}

export declare class MeshCall extends Emitter<MeshEvents> {
  constructor(client: RedRTCClient, options?: MeshOptions);
  readonly peers: Map<string, Peer>;
  readonly localStream: MediaStream | null;
  join(roomId?: string | null, options?: JoinOptions): Promise<RoomJoined>;
  leave(): Promise<void>;
  close(): void;
  setLocalStream(stream: MediaStream | null): void;
  replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void>;
}
