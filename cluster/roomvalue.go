package cluster

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/redrtc/redrtc/proto"
)

// roomValue is a room as the bucket holds it: its name and its members in
// the order they joined, each with the node that holds its socket. It is
// JSON, so that an operator can read it with `nats kv get`.
type roomValue struct {
	// Name is the room's name, a JSON string token as its creator sent it.
	Name    json.RawMessage `json:"name,omitempty"`
	Members []member        `json:"members"`
}

type member struct {
	ID   proto.ClientID `json:"id"`
	Node string         `json:"node"`
}

// roomKey is the bucket key of a room: its id in base64url, as room ids may
// hold characters ("." and ":") that keys use otherwise.
func roomKey(room string) string { return base64.RawURLEncoding.EncodeToString([]byte(room)) }

// roomOfKey is roomKey's inverse.
func roomOfKey(key string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return "", fmt.Errorf("room key %q: %w", key, err)
	}
	return string(b), nil
}

// encode writes v as JSON, the name's bytes as its creator sent them
// (json.Marshal would escape <, > and & in it).
func (v roomValue) encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("encoding a room: %v", err)) // only valid JSON goes in
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func decodeRoom(b []byte) (roomValue, error) {
	var v roomValue
	if len(b) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("room value: %w", err)
	}
	return v, nil
}

// has reports whether id is a member.
func (v roomValue) has(id proto.ClientID) bool {
	for _, m := range v.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// without returns v less the members keep refuses, and how many went.
func (v roomValue) without(drop func(member) bool) (roomValue, int) {
	out := roomValue{Name: v.Name, Members: make([]member, 0, len(v.Members))}
	for _, m := range v.Members {
		if !drop(m) {
			out.Members = append(out.Members, m)
		}
	}
	return out, len(v.Members) - len(out.Members)
}
