// Type-checked, never run: the declarations fit the documented usage, and
// misuse is refused (each @ts-expect-error must be an error).
import { MeshCall, RedRTCClient, RedRTCError, backoffDelay, type RoomJoined } from '../../src/index.js';

const client = new RedRTCClient('ws://localhost:8080', {
  reconnect: true,
  maxReconnectDelay: 10_000,
  token: async () => (await fetch('/token')).text(),
  ackDelay: 100,
});
new RedRTCClient('ws://localhost:8080', { token: 'a.b.c', resume: false, maxAuthFailures: 5 });
const call = new MeshCall(client, { iceServers: [{ urls: 'stun:stun.example.com' }] });

call.on('stream', ({ peerId, stream }) => {
  const id: string = peerId;
  const tracks: MediaStreamTrack[] = stream.getTracks();
  void id, tracks;
});
call.on('peer-left', ({ peerId }) => void peerId.toUpperCase());
call.on('connection-state', ({ state }) => {
  const s: RTCPeerConnectionState = state;
  void s;
});

client.on('participants', ({ participants }) => void participants.length);
client.on('offer', ({ fromClientId, offer }) => void [fromClientId, offer.sdp]);
client.on('error', (err) => {
  const e: RedRTCError = err;
  const code: string = e.code;
  void code;
});
client.on('close', ({ code, willReconnect }) => void [code + 1, !willReconnect]);
client.on('open', ({ resumed }) => void !resumed);
client.on('resumed', ({ clientId, roomId, participants, missed, dropped }) => {
  const room: string | null = roomId;
  void [clientId.length, room, participants.length, missed + dropped];
});

async function main(): Promise<void> {
  const joined: RoomJoined = await call.join('demo', { name: 'Demo', token: () => 'room.jwt' });
  const servers: RTCIceServer[] | undefined = joined.iceServers;
  void servers;
  await client.ping();
  client.sendCandidate(joined.participants[0], { candidate: '', sdpMid: '0' });
  try {
    await client.join('full-room');
  } catch (err) {
    if (err instanceof RedRTCError && err.code === 'room-full') return;
  }
  const n: number = backoffDelay(3);
  void n;
  await call.leave();
  client.close();
}
void main;

// @ts-expect-error: no such event
client.on('no-such-event', () => {});
// @ts-expect-error: participants data has no fromClientId
client.on('participants', (d) => d.fromClientId);
// @ts-expect-error: the room id is a string
void client.join(42);
// @ts-expect-error: a token function returns a string
new RedRTCClient('ws://localhost:8080', { token: () => 42 });
// @ts-expect-error: the target comes first
client.sendOffer({ type: 'offer', sdp: '' }, 'id');
