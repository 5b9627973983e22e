package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/redrtc/redrtc/internal/testkit"
)

// adminServer is redrtc started with an admin listener.
type adminServer struct {
	*proc
	addr, admin, token string
}

// serveAdmin starts redrtc on free ports with --admin-addr (and the token,
// when not empty) and waits until /readyz answers 200.
func serveAdmin(t *testing.T, token string, flags ...string) *adminServer {
	t.Helper()
	port, aport := freePort(t), freePort(t)
	s := &adminServer{
		addr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		admin: net.JoinHostPort("127.0.0.1", strconv.Itoa(aport)),
		token: token,
	}
	args := append([]string{"-i", "127.0.0.1", "-p", strconv.Itoa(port), "--admin-addr", s.admin}, flags...)
	if token != "" {
		args = append(args, "--admin-token", token)
	}
	s.proc = startBinary(t, args...)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(s.exited, s.statusIs("/readyz", http.StatusOK)))
	return s
}

// request sends method path to the admin listener with the server's token
// and returns the status and body.
func (s *adminServer) request(method, path string) (int, []byte, error) {
	return adminRequest(method, "http://"+s.admin+path, s.token)
}

func adminRequest(method, url, token string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// statusIs returns a check that GET path on the admin listener answers status.
func (s *adminServer) statusIs(path string, status int) func() error {
	return func() error {
		got, body, err := s.request("GET", path)
		if err != nil {
			return err
		}
		if got != status {
			return fmt.Errorf("GET %s: %d %s, want %d", path, got, body, status)
		}
		return nil
	}
}

// must is request, failing the test unless the status is want; it returns
// the body.
func (s *adminServer) must(t *testing.T, method, path string, want int) []byte {
	t.Helper()
	got, body, err := s.request(method, path)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if got != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, got, body, want)
	}
	return body
}

// scrape fetches and parses /metrics with the Prometheus text parser.
func scrape(admin string) (map[string]*dto.MetricFamily, error) {
	status, body, err := adminRequest("GET", "http://"+admin+"/metrics", "")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(body))
}

// series is a scrape, read by name and label.
type series map[string]*dto.MetricFamily

// value returns the value of the series name{label=value} (label "" for a
// series without labels), or of a histogram's sample count; -1 when absent.
func (s series) value(name, label, value string) float64 {
	f := s[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		if label != "" && !hasLabel(m, label, value) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// want is one expected value in a scrape.
type want struct {
	name, label, value string
	v                  float64
}

func (w want) String() string {
	if w.label == "" {
		return w.name
	}
	return fmt.Sprintf("%s{%s=%q}", w.name, w.label, w.value)
}

// metricsAre returns a check that a scrape holds exactly these values.
func metricsAre(admin string, wants []want) func() error {
	return func() error {
		fams, err := scrape(admin)
		if err != nil {
			return err
		}
		var wrong []string
		for _, w := range wants {
			if got := series(fams).value(w.name, w.label, w.value); got != w.v {
				wrong = append(wrong, fmt.Sprintf("%s = %v, want %v", w, got, w.v))
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("%s", strings.Join(wrong, "; "))
		}
		return nil
	}
}

// decodeJSON decodes body into v, failing the test if it is not JSON.
func decodeJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
}
