package results

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redrtc/redrtc/bench/internal/target"
)

func TestOutputs(t *testing.T) {
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Machine:   MachineInfo(),
		Settings:  Settings{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second, ChurnPairs: 2},
		Servers:   []*target.Server{{Name: "RedRTC", Smoke: "pass"}, {Name: "baseline", Smoke: "pass"}},
		Idle: []IdleResult{
			{Server: "RedRTC", Clients: 1000, Connected: 1000, Joined: 1000, ConnectRate: 9000, RSSEmptyKB: 5000, RSSJoinedKB: 7000, PerConnJoined: 2},
			{Server: "baseline", Clients: 1000, Connected: 1000, Joined: 1000, ConnectRate: 9000, RSSEmptyKB: 5000, RSSJoinedKB: 37000, PerConnJoined: 32},
		},
		Relay: []RelayResult{
			{Server: "RedRTC", Clients: 1000, Mode: "rate", TargetRate: 10000, Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 20,
				Percentiles: []Percentile{{0, 100}, {50, 200}, {99, 900}, {100, 1000}}},
			{Server: "baseline", Clients: 1000, Mode: "rate", TargetRate: 10000, Sent: 10, Received: 9, CPUPerMsgUs: 60,
				Percentiles: []Percentile{{0, 100}, {50, 300}, {99, 9000}, {100, 10000}}},
		},
	}
	tableHas(t, res, "| RSS per client, joined (KiB) | 2.00 | 32.00 | 16.00× |", "| server CPU per message (µs) | 20.00 | 60.00 | 3.00× |", "NO: 9/10 received")
	if err := WriteChart(res, filepath.Join(t.TempDir(), "c.png")); err != nil {
		t.Fatal(err)
	}
}

// tableHas checks that res's Markdown table holds every wanted line part.
func tableHas(t *testing.T, res *Results, wants ...string) {
	t.Helper()
	var out bytes.Buffer
	WriteMarkdown(&out, res)
	s := out.String()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

func TestEachOtherServerGetsARatioToRedRTC(t *testing.T) {
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Machine:   MachineInfo(),
		Settings:  Settings{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second, ChurnPairs: 2},
		Servers: []*target.Server{{Name: "RedRTC", Smoke: "pass"}, {Name: "baseline", Smoke: "pass"},
			{Name: target.FloorName, Binary: "/tmp/floor", Smoke: "skipped"}},
		Relay: []RelayResult{
			{Server: "RedRTC", Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 20},
			{Server: "baseline", Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 60},
			{Server: target.FloorName, Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 25},
		},
	}
	tableHas(t, res,
		"| RedRTC | baseline | floor | baseline/RedRTC | floor/RedRTC |",
		"| server CPU per message (µs) | 20.00 | 60.00 | 25.00 | 3.00× | 1.25× |",
		"floor/RedRTC above 1 means the floor needs more",
		"- floor: /tmp/floor; protocol smoke test: skipped")
	if res.Failed() {
		t.Error("a skipped smoke test counts as a failure")
	}
}

func TestRepeatedRunsShowTheMedianAndTheRange(t *testing.T) {
	relay := func(server string, cpu float64, err string) RelayResult {
		return RelayResult{Server: server, Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: err == "", CPUPerMsgUs: cpu, Err: err}
	}
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Machine:   MachineInfo(),
		Settings:  Settings{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second, ChurnPairs: 2, Repeat: 3},
		Servers:   []*target.Server{{Name: "RedRTC", Smoke: "pass"}, {Name: "baseline", Smoke: "pass"}},
		Idle: []IdleResult{
			{Server: "RedRTC", Clients: 1000, Connected: 1000, Joined: 1000, PerConnJoined: 2},
			{Server: "baseline", Clients: 1000, Connected: 1000, Joined: 1000, PerConnJoined: 32},
		},
		Relay: []RelayResult{
			relay("RedRTC", 30, ""), relay("baseline", 60, ""),
			relay("RedRTC", 20, ""), relay("baseline", 90, ""),
			relay("RedRTC", 25, ""), relay("baseline", 70, ""),
		},
		Churn: []ChurnResult{
			{Server: "RedRTC", Pairs: 2, Sessions: 9, CPUPerSession: 100},
			{Server: "baseline", Pairs: 2, Sessions: 9, CPUPerSession: 200},
			{Server: "RedRTC", Pairs: 2, Sessions: 9, CPUPerSession: 110, Round: 1},
			{Server: "baseline", Pairs: 2, Sessions: 0, Err: "refused", Round: 1},
		},
	}
	for i := range res.Relay {
		res.Relay[i].Round = i / 2
	}
	res.Relay[3].Received, res.Relay[3].ExactlyOnce = 9, false // the baseline's second run lost one
	tableHas(t, res,
		"median of the runs",
		"| relay, max | 1,000 | server CPU per message (µs) | 25.00 (20.00–30.00) | 70.00 (60.00–90.00) | 2.80× |",
		"| RSS per client, joined (KiB) | 2.00 | 32.00 | 16.00× |", // idle runs once
		"| churn | 4 at once | server CPU per session (µs) | 105.0 (100.0–110.0) | 200.0 / error | — |",
		"churn baseline (run 2 of 3): ERROR refused",
		"| relay, max | 1,000 | delivered exactly once | yes, in each of 3 runs | yes, 10/10 / NO: 9/10 received, 0 dup, 0 phantom, 0 misattributed, 0 stale, 0 malformed / yes, 10/10 | — |")
	if err := WriteChart(res, filepath.Join(t.TempDir(), "c.png")); err != nil {
		t.Fatal(err)
	}
}
