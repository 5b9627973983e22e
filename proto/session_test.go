package proto

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

func TestResumeTokenIsHMACSHA256OfTheID(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	k := NewResumeKey(secret)
	id, err := NewClientID()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(id[:])
	want := mac.Sum(nil)[:ResumeTokenLen]
	got := k.Token(id)
	if string(got[:]) != string(want) {
		t.Fatalf("token %x, want %x", got, want)
	}
	if !k.Verify(id, got) {
		t.Fatal("Verify refuses the id's own token")
	}
	other, _ := NewClientID()
	if k.Verify(other, got) {
		t.Fatal("Verify accepts a token for another id")
	}
	if NewResumeKey([]byte("another secret")).Verify(id, got) {
		t.Fatal("Verify accepts a token made under another secret")
	}
	if n := testing.AllocsPerRun(100, func() { _ = k.Token(id) }); n != 0 {
		t.Fatalf("Token allocates %.0f times", n)
	}
	text := got.AppendText(nil)
	if back, ok := ParseResumeToken(text); !ok || back != got {
		t.Fatalf("ParseResumeToken(%s) = %x, %v", text, back, ok)
	}
}

func TestDecodeAckAndResume(t *testing.T) {
	id, _ := NewClientID()
	idText := string(id.AppendText(nil))
	token := "00112233445566778899aabbccddeeff"
	for _, tc := range []struct {
		in      string
		code    Code
		seq     uint64
		lastSeq uint64
	}{
		{in: `{"event":"ack","data":{"seq":42}}`, seq: 42},
		{in: `{"event":"ack","data":{"seq":0}}`},
		{in: `{"event":"ack","data":{"seq":9007199254740991}}`, seq: 1<<53 - 1},
		{in: `{"event":"ack","data":{"seq":9007199254740992}}`, code: CodeBadRequest},
		{in: `{"event":"ack","data":{"seq":-1}}`, code: CodeBadRequest},
		{in: `{"event":"ack","data":{"seq":1.5}}`, code: CodeBadRequest},
		{in: `{"event":"ack","data":{"seq":"1"}}`, code: CodeBadRequest},
		{in: `{"event":"ack","data":{"seq":01}}`, code: CodeBadJSON},
		{in: `{"event":"ack"}`, code: CodeBadRequest},
		{in: `{"event":"resume","data":{"clientId":"` + idText + `","resumeToken":"` + token + `","lastSeq":7}}`, lastSeq: 7},
		{in: `{"event":"resume","data":{"clientId":"` + idText + `","resumeToken":"` + token + `"}}`, code: CodeBadRequest},
		{in: `{"event":"resume","data":{"clientId":"x","resumeToken":"` + token + `","lastSeq":7}}`, code: CodeBadRequest},
		{in: `{"event":"resume","data":{"clientId":"` + idText + `","resumeToken":"0011","lastSeq":7}}`, code: CodeBadRequest},
		{in: `{"event":"resume","data":{"clientId":"` + idText + `","resumeToken":"` + token[:31] + `g","lastSeq":7}}`, code: CodeBadRequest},
		{in: `{"event":"resume","data":{"resumeToken":"` + token + `","lastSeq":7}}`, code: CodeBadRequest},
	} {
		var m Message
		p := Decode([]byte(tc.in), &m)
		if p.Code != tc.code {
			t.Errorf("%s: code %q (%s), want %q", tc.in, p.Code, p.Message, tc.code)
			continue
		}
		if p.OK() && (m.Seq != tc.seq || m.LastSeq != tc.lastSeq) {
			t.Errorf("%s: seq %d lastSeq %d, want %d %d", tc.in, m.Seq, m.LastSeq, tc.seq, tc.lastSeq)
		}
		if p.OK() && m.Event == EventResume && (m.ClientID != id || string(m.ResumeToken.AppendText(nil)) != token) {
			t.Errorf("%s: decoded %v %x", tc.in, m.ClientID, m.ResumeToken)
		}
	}
}
