package main

import "testing"

// meshJS makes a call of two MeshCalls in one page, then renegotiates it
// three ways, and resolves with what it saw or rejects with what went
// wrong:
//   - glare: both sides add a video track at the same moment, so both offer
//     at once; perfect negotiation must settle it with each side receiving
//     the other's new track;
//   - replaceTrack: one side swaps its camera for a canvas without an
//     offer, and the other keeps decoding frames;
//   - ICE restart on both sides at once: fresh ICE credentials, connected
//     again.
const meshJS = `(async () => {
  const { RedRTCClient, MeshCall } = await import('/sdk/index.js');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (what, pred, ms = 30000) => {
    const end = Date.now() + ms;
    while (!(await pred())) {
      if (Date.now() > end) throw new Error('timed out waiting for ' + what);
      await sleep(50);
    }
  };
  const media = () => navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const url = 'ws://' + location.host + '/';
  const a = {}, b = {};
  for (const p of [a, b]) {
    p.client = new RedRTCClient(url);
    p.stream = await media();
    p.call = new MeshCall(p.client, { localStream: p.stream });
    p.tracks = 0;
    p.offers = 0;
    p.call.on('track', () => p.tracks++);
    p.client.on('offer', () => p.offers++);
    p.call.on('error', ({ error }) => console.error('mesh error', error));
  }
  const room = 'mesh-' + Math.random().toString(36).slice(2);
  await a.call.join(room);
  await b.call.join(room);
  const pcOf = (p, q) => p.call.peers.get(q.client.clientId)?.pc;
  const stable = () => [pcOf(a, b), pcOf(b, a)].every((pc) => pc && pc.connectionState === 'connected' && pc.signalingState === 'stable');
  const frames = async (p, q) => {
    let n = 0;
    (await pcOf(p, q).getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; });
    return n;
  };
  const decoding = async (p, q) => { const n = await frames(p, q); await sleep(300); return (await frames(p, q)) > n; };
  await until('the first connection', stable);
  await until('video both ways', async () => (await decoding(a, b)) && (await decoding(b, a)));
  const out = { polite: [a.call.peers.get(b.client.clientId).polite, b.call.peers.get(a.client.clientId).polite] };

  // Glare: both add a track in the same task.
  const before = { aTracks: a.tracks, bTracks: b.tracks, aOffers: a.offers, bOffers: b.offers };
  const extraA = (await media()).getVideoTracks()[0];
  const extraB = (await media()).getVideoTracks()[0];
  a.call.setLocalStream(new MediaStream([...a.stream.getTracks(), extraA]));
  b.call.setLocalStream(new MediaStream([...b.stream.getTracks(), extraB]));
  await until('both new tracks across', () => a.tracks > before.aTracks && b.tracks > before.bTracks && stable());
  out.glare = { offersToA: a.offers - before.aOffers, offersToB: b.offers - before.bOffers, transceivers: [pcOf(a, b).getTransceivers().length, pcOf(b, a).getTransceivers().length] };

  // replaceTrack: no offer, the video goes on.
  const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
  const g = canvas.getContext('2d');
  const draw = setInterval(() => { g.fillStyle = '#' + Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0'); g.fillRect(0, 0, 320, 240); }, 50);
  const painted = canvas.captureStream(15).getVideoTracks()[0];
  const offersToB = b.offers;
  await a.call.replaceTrack(a.call.localStream.getVideoTracks()[0], painted);
  out.replaced = pcOf(a, b).getSenders().some((s) => s.track === painted);
  await until('video after replaceTrack', () => decoding(b, a));
  await sleep(500);
  out.offersForReplace = b.offers - offersToB;
  clearInterval(draw);

  // ICE restart on both sides at once.
  const ufrag = (pc) => pc.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1];
  const old = [ufrag(pcOf(a, b)), ufrag(pcOf(b, a))];
  pcOf(a, b).restartIce();
  pcOf(b, a).restartIce();
  await until('new ICE credentials both ways', () => stable() && ufrag(pcOf(a, b)) !== old[0] && ufrag(pcOf(b, a)) !== old[1]);
  await until('video after the ICE restart', async () => (await decoding(a, b)) && (await decoding(b, a)));
  out.restarted = true;
  a.client.close();
  b.client.close();
  return out;
})()`

type meshResult struct {
	Polite []bool `json:"polite"`
	Glare  struct {
		OffersToA    int   `json:"offersToA"`
		OffersToB    int   `json:"offersToB"`
		Transceivers []int `json:"transceivers"`
	} `json:"glare"`
	Replaced         bool `json:"replaced"`
	OffersForReplace int  `json:"offersForReplace"`
	Restarted        bool `json:"restarted"`
}

// TestMeshRenegotiatesInChromium runs MeshCall's renegotiations (meshJS)
// in headless Chromium, in a page of the --demo server.
func TestMeshRenegotiatesInChromium(t *testing.T) {
	browser := newBrowser(t)
	addr := startDemo(t)
	tab := openTab(t, browser, "http://"+addr+"/", true)
	r, err := evalFor[meshResult](tab, meshJS, 2*browserWait)
	if err != nil {
		t.Fatalf("the mesh's renegotiations: %v", err)
	}
	t.Logf("%+v", r)
	if len(r.Polite) != 2 || r.Polite[0] == r.Polite[1] {
		t.Errorf("politeness %v, want one polite side", r.Polite)
	}
	if r.Glare.OffersToA == 0 || r.Glare.OffersToB == 0 {
		t.Errorf("offers during the glare: %d to A, %d to B; want both sides to have offered", r.Glare.OffersToA, r.Glare.OffersToB)
	}
	// 3 when each side's new track rides the m-line the other side's offer
	// made (JSEP associates them), 4 when each gets its own: both are right,
	// as long as the two sides agree.
	if len(r.Glare.Transceivers) != 2 || r.Glare.Transceivers[0] < 3 || r.Glare.Transceivers[0] != r.Glare.Transceivers[1] {
		t.Errorf("transceivers after the glare %v, want as many on both sides, at least 3 (audio, video, the new video)", r.Glare.Transceivers)
	}
	if !r.Replaced || r.OffersForReplace != 0 {
		t.Errorf("replaceTrack: replaced %v with %d offers; want replaced without an offer", r.Replaced, r.OffersForReplace)
	}
	if !r.Restarted {
		t.Error("no ICE restart")
	}
}
