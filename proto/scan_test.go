package proto

import (
	"encoding/json"
	"testing"
)

// FuzzScan checks the scanner accepts exactly what encoding/json.Valid
// accepts, the contract Decode relies on for bad-json.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":"c\n"}]}`, `"\u12"`, `-0.5e+3`, `01`, `{"a":1,}`, "\"\x01\"", `[`, `{"event":"offer","data":{"targetClientId":"x","offer":"abcdefghijklmnop\"qrstuvwxyz"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, ok, _, tooDeep := scanMessage(b)
		if ok != json.Valid(b) && !tooDeep {
			t.Fatalf("scan %v, json.Valid %v for %q", ok, json.Valid(b), b)
		}
	})
}
