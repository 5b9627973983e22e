package loadclient

// The messages the relay step sends: offers and answers carrying a
// browser-like SDP of about 3 KB, and ICE candidates of about 250 bytes, each
// with the sequence number and send time the receiver checks.

import (
	"fmt"
	"strings"
)

const (
	kindOffer = iota
	kindAnswer
	kindCandidate
	kindCount
)

// msgTemplate is a message split around its target id, seq and ts:
// pre + targetId + mid + seq + `,"ts":` + ts + post.
type msgTemplate struct {
	event string
	pre   string
	mid   string
	post  string
}

type templates struct {
	kinds [kindCount]msgTemplate
	sdp   string // JSON-escaped SDP body
}

// size returns the length of a message of this kind, with typical numbers.
func (t msgTemplate) size() int {
	return len(t.pre) + 36 + len(t.mid) + 6 + len(`,"ts":`) + 19 + len(t.post)
}

func newTemplates(sdpBytes, candidateBytes int) templates {
	if sdpBytes <= 0 {
		sdpBytes = 3000
	}
	if candidateBytes <= 0 {
		candidateBytes = 250
	}
	var t templates
	t.sdp = fakeSDP(sdpBytes)
	t.kinds[kindOffer] = msgTemplate{
		event: "offer",
		pre:   `{"event":"offer","data":{"targetClientId":"`,
		mid:   `","offer":{"type":"offer","seq":`,
		post:  `,"sdp":"` + t.sdp + `"}}}`,
	}
	t.kinds[kindAnswer] = msgTemplate{
		event: "answer",
		pre:   `{"event":"answer","data":{"targetClientId":"`,
		mid:   `","answer":{"type":"answer","seq":`,
		post:  `,"sdp":"` + t.sdp + `"}}}`,
	}
	cand := msgTemplate{
		event: "ice-candidate",
		pre:   `{"event":"ice-candidate","data":{"targetClientId":"`,
		mid:   `","candidate":{"seq":`,
	}
	// A host candidate as browsers send them, grown with the usual
	// attributes up to the requested size (an address from TEST-NET-3: it
	// is text in a message, never contacted).
	line := "candidate:842163049 1 udp 2122260223 203.0.113.7 54400 typ host"
	tail := `","sdpMid":"0","sdpMLineIndex":0}}}`
	build := func() string { return `,"candidate":"` + line + tail }
	cand.post = build()
	for _, attr := range []string{" generation 0", " ufrag EsAw", " network-id 1", " network-cost 10"} {
		if cand.size()+len(attr) > candidateBytes {
			break
		}
		line += attr
		cand.post = build()
	}
	if pad := candidateBytes - cand.size(); pad > 0 {
		line += strings.Repeat(" ", pad)
		cand.post = build()
	}
	t.kinds[kindCandidate] = cand
	return t
}

// fakeSDP returns a browser-like SDP of about n bytes, JSON-escaped (each
// line ends in \r\n, written as the four characters `\r\n`).
func fakeSDP(n int) string {
	lines := []string{
		"v=0",
		"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
		"s=-",
		"t=0 0",
		"a=group:BUNDLE 0 1",
		"a=extmap-allow-mixed",
		"a=msid-semantic: WMS 3a6f5c1e-9b2d-4f7a-8e3c-1d0b2a4c6e8f",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
		"c=IN IP4 0.0.0.0",
		"a=rtcp:9 IN IP4 0.0.0.0",
		"a=ice-ufrag:EsAw",
		"a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
		"a=ice-options:trickle",
		"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F",
		"a=setup:actpass",
		"a=mid:0",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
		"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
		"a=sendrecv",
		"a=msid:3a6f5c1e-9b2d-4f7a-8e3c-1d0b2a4c6e8f 7d2e9f4a-1b3c-4d5e-8f6a-2b4c6d8e0f1a",
		"a=rtcp-mux",
		"a=rtpmap:111 opus/48000/2",
		"a=rtcp-fb:111 transport-cc",
		"a=fmtp:111 minptime=10;useinbandfec=1",
		"a=rtpmap:63 red/48000/2",
		"a=fmtp:63 111/111",
		"a=rtpmap:9 G722/8000",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:13 CN/8000",
		"a=rtpmap:110 telephone-event/48000",
		"a=rtpmap:126 telephone-event/8000",
		"a=ssrc:1001211568 cname:o5Vq1QnHc0kqHh3c",
		"a=ssrc:1001211568 msid:3a6f5c1e-9b2d-4f7a-8e3c-1d0b2a4c6e8f 7d2e9f4a-1b3c-4d5e-8f6a-2b4c6d8e0f1a",
		"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101 112 113 116 117 118",
		"c=IN IP4 0.0.0.0",
		"a=rtcp:9 IN IP4 0.0.0.0",
		"a=ice-ufrag:EsAw",
		"a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
		"a=ice-options:trickle",
		"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F",
		"a=setup:actpass",
		"a=mid:1",
		"a=extmap:14 urn:ietf:params:rtp-hdrext:toffset",
		"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"a=extmap:13 urn:3gpp:video-orientation",
		"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
		"a=sendrecv",
		"a=rtcp-mux",
		"a=rtcp-rsize",
		"a=rtpmap:96 VP8/90000",
		"a=rtcp-fb:96 goog-remb",
		"a=rtcp-fb:96 transport-cc",
		"a=rtcp-fb:96 ccm fir",
		"a=rtcp-fb:96 nack",
		"a=rtcp-fb:96 nack pli",
		"a=rtpmap:97 rtx/90000",
		"a=fmtp:97 apt=96",
		"a=rtpmap:102 H264/90000",
		"a=rtcp-fb:102 goog-remb",
		"a=rtcp-fb:102 transport-cc",
		"a=rtcp-fb:102 ccm fir",
		"a=rtcp-fb:102 nack",
		"a=rtcp-fb:102 nack pli",
		"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
		"a=rtpmap:103 rtx/90000",
		"a=fmtp:103 apt=102",
		"a=rtpmap:39 AV1/90000",
		"a=rtcp-fb:39 goog-remb",
		"a=rtcp-fb:39 transport-cc",
		"a=rtcp-fb:39 ccm fir",
		"a=rtcp-fb:39 nack",
		"a=rtcp-fb:39 nack pli",
		"a=rtpmap:40 rtx/90000",
		"a=fmtp:40 apt=39",
		"a=rtpmap:98 VP9/90000",
		"a=fmtp:98 profile-id=0",
		"a=rtpmap:99 rtx/90000",
		"a=fmtp:99 apt=98",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		line := ""
		if i < len(lines) {
			line = lines[i]
		} else {
			line = fmt.Sprintf("a=ssrc-group:FID %d %d", 2000000000+i, 3000000000+i)
		}
		b.WriteString(line)
		b.WriteString(`\r\n`)
	}
	s := b.String()
	if len(s) > n { // cut on a line boundary
		if i := strings.LastIndex(s[:n], `\r\n`); i > 0 {
			s = s[:i+4]
		}
	}
	return s
}
