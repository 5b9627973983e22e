// The RedRTC call page: a mesh call of up to 6 on the SDK, no build step.
// `redrtc --demo` serves this page at / and the SDK at /sdk/.
import { MeshCall, RedRTCClient } from './sdk/index.js';

const $ = (id) => document.getElementById(id);
const form = $('join-form');
const roomInput = $('room-input');
const tiles = $('tiles');
const message = $('message');
const controls = $('controls');
const micButton = $('mic');
const cameraButton = $('camera');
const ROOM_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

// The server is the one that served this page, unless ?server= names another.
const serverURL =
  new URLSearchParams(location.search).get('server') ||
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

const client = new RedRTCClient(serverURL);
let call = null;
let localStream = null;
let wanted = null; // the room the user asked for, while not in it
const tileOf = new Map(); // peer id → tile element

function say(text, kind = 'info', code = '') {
  message.textContent = text;
  message.dataset.kind = kind;
  message.dataset.code = code;
  message.hidden = !text;
}

function tile(id, label) {
  let el = tileOf.get(id);
  if (!el) {
    el = $('tile-template').content.firstElementChild.cloneNode(true);
    el.dataset.peer = id;
    el.querySelector('.name').textContent = label;
    tiles.append(el);
    tileOf.set(id, el);
  }
  return el;
}

function setState(id, state) {
  const badge = tileOf.get(id)?.querySelector('.state');
  if (badge) {
    badge.textContent = state;
    badge.dataset.state = state;
  }
}

function dropTile(id) {
  tileOf.get(id)?.remove();
  tileOf.delete(id);
}

async function camera() {
  if (!window.isSecureContext) {
    say('Browsers give the camera only to https:// pages and to localhost: you join to watch and listen only.', 'info', 'no-media');
    return null;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  } catch (err) {
    say(`No camera or microphone (${err.name}): you join to watch and listen only.`, 'info', 'no-media');
    return null;
  }
}

async function join(roomId) {
  wanted = roomId;
  form.hidden = true;
  if (location.hash.slice(1) !== roomId) history.replaceState(null, '', `#${roomId}`);
  $('room-label').textContent = `room ${roomId}`;
  $('room-label').hidden = false;
  localStream ??= await camera();
  if (localStream) {
    const me = tile('local', 'You');
    me.classList.add('local');
    const video = me.querySelector('video');
    video.muted = true;
    video.srcObject = localStream;
  }
  call = new MeshCall(client, { localStream });
  call.on('peer', ({ peerId }) => {
    tile(peerId, peerId.slice(0, 8));
    setState(peerId, 'new');
  });
  call.on('stream', ({ peerId, stream }) => {
    tile(peerId, peerId.slice(0, 8)).querySelector('video').srcObject = stream;
  });
  call.on('connection-state', ({ peerId, state }) => setState(peerId, state));
  call.on('peer-left', ({ peerId }) => dropTile(peerId));
  call.on('error', ({ peerId, error }) => console.warn('peer', peerId, error));
  try {
    await call.join(roomId, { name: roomId });
    wanted = null;
    controls.hidden = false;
    if (message.dataset.code !== 'no-media') say('');
  } catch (err) {
    call.close();
    call = null;
    if (err.code === 'disconnected') {
      say(`Cannot reach the RedRTC server at ${serverURL}. Is it running? Retrying…`, 'error', 'unreachable');
      return; // joined once the client reconnects (below)
    }
    wanted = null;
    stopLocal();
    form.hidden = false;
    if (err.code === 'room-full') {
      say(`Room “${roomId}” is full: it already has 6 people. Pick another room.`, 'error', 'room-full');
    } else {
      say(`Could not join “${roomId}”: ${err.message} (${err.code}).`, 'error', err.code);
    }
  }
}

function stopLocal() {
  localStream?.getTracks().forEach((t) => t.stop());
  localStream = null;
  dropTile('local');
}

async function leave() {
  const roomId = client.roomId;
  controls.hidden = true;
  try {
    await call?.leave();
  } catch (err) {
    console.warn('leave', err);
  }
  call?.close();
  call = null;
  stopLocal();
  for (const id of [...tileOf.keys()]) dropTile(id);
  history.replaceState(null, '', location.pathname + location.search);
  $('room-label').hidden = true;
  roomInput.value = roomId ?? '';
  form.hidden = false;
  say(`You left “${roomId}”.`, 'info', 'left');
}

client.on('close', ({ willReconnect }) => {
  if (willReconnect && !wanted) say('Lost the connection to the server; reconnecting…', 'error', 'reconnecting');
});
client.on('open', ({ reconnected }) => {
  if (!reconnected) return;
  if (wanted) join(wanted);
  else if (message.dataset.code === 'reconnecting') say('');
});
client.on('rejoin-failed', (err) => {
  say(`Reconnected, but could not rejoin: ${err.message} (${err.code}).`, 'error', err.code);
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const roomId = roomInput.value.trim().replace(/\s+/g, '-');
  if (!ROOM_ID.test(roomId)) {
    say('A room name is 1–64 letters, digits, and _ . : -', 'error', 'bad-room');
    return;
  }
  join(roomId);
});

micButton.addEventListener('click', () => {
  const on = micButton.getAttribute('aria-pressed') !== 'true';
  localStream?.getAudioTracks().forEach((t) => (t.enabled = !on));
  micButton.setAttribute('aria-pressed', String(on));
  micButton.textContent = on ? 'Unmute' : 'Mute';
});

cameraButton.addEventListener('click', () => {
  const off = cameraButton.getAttribute('aria-pressed') !== 'true';
  localStream?.getVideoTracks().forEach((t) => (t.enabled = !off));
  cameraButton.setAttribute('aria-pressed', String(off));
  cameraButton.textContent = off ? 'Camera on' : 'Camera off';
});

$('leave').addEventListener('click', leave);

const fromHash = decodeURIComponent(location.hash.slice(1));
if (ROOM_ID.test(fromHash)) join(fromHash);
else roomInput.focus();

// For the browser tests and the curious: the page's objects.
Object.assign(globalThis, { redrtc: { client, get call() { return call; } } });
