package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

// deployFiles are the dashboard and the alerting rules shipped in deploy/.
var deployFiles = []string{"../../deploy/grafana/redrtc.json", "../../deploy/prometheus/alerts.yml"}

// metricNameRE finds the series names a dashboard or rule file uses.
var metricNameRE = regexp.MustCompile(`\b(?:redrtc|process|go)_[a-z_]+\b`)

// TestDashboardAndAlertsNameOnlyRealMetrics: every series the Grafana
// dashboard and the alerting rules query is in a real scrape, so that none
// shows "no data" for a name that does not exist.
func TestDashboardAndAlertsNameOnlyRealMetrics(t *testing.T) {
	t.Parallel()
	s := serveAdmin(t, "")
	fams, err := scrape(s.admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range deployFiles {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := slices.Compact(slices.Sorted(slices.Values(metricNameRE.FindAllString(string(b), -1))))
		if len(names) < 3 {
			t.Fatalf("%s names %d metrics: %v", file, len(names), names)
		}
		for _, name := range names {
			if fams[name] != nil {
				continue
			}
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if f := fams[base]; f != nil && f.GetType().String() == "HISTOGRAM" {
				continue
			}
			t.Errorf("%s names %s, which a scrape of /metrics does not have", file, name)
		}
	}
	var dash struct {
		Panels []struct{ Title string }
	}
	b, _ := os.ReadFile(deployFiles[0])
	if err := json.Unmarshal(b, &dash); err != nil || len(dash.Panels) < 10 {
		t.Fatalf("the dashboard is not JSON with panels: %v (%d panels)", err, len(dash.Panels))
	}
}

// TestAlertingRulesPassPromtool checks deploy/prometheus/alerts.yml with
// Prometheus's own checker.
func TestAlertingRulesPassPromtool(t *testing.T) {
	t.Parallel()
	promtool := testkit.RequireTool(t, "apt-get install prometheus", "promtool")
	out, err := exec.Command(promtool, "check", "rules", deployFiles[1]).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestPrometheusScrapesTheAdminListener runs Debian's Prometheus against
// the admin listener, with the shipped alerting rules loaded, and asks its
// HTTP API for up and a RedRTC counter.
func TestPrometheusScrapesTheAdminListener(t *testing.T) {
	t.Parallel()
	prom := testkit.RequireTool(t, "apt-get install prometheus", "prometheus")
	s := serveAdmin(t, "")
	for range 2 {
		testkit.Dial(t, wsURL(s.addr))
	}
	rules, err := filepath.Abs(deployFiles[1])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: redrtc
    static_configs:
      - targets: [%q]
`, rules, s.admin)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	web := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := &proc{t: t, args: []string{"prometheus"}, exited: make(chan struct{})}
	p.cmd = exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+web)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("prometheus stderr:\n%s", p.stderr.String())
		}
	})
	for query, want := range map[string]string{
		`up{job="redrtc"}`: "1",
		`redrtc_connections_accepted_total{job="redrtc"}`: "2",
		`redrtc_clients{job="redrtc"}`:                    "2",
	} {
		testkit.CheckFor(t, 2*waitTimeout, pollEvery, untilExit(p.exited, promQueryIs(web, query, want)))
	}
}

// promQueryIs returns a check that an instant query on Prometheus at web
// returns one sample with this value.
func promQueryIs(web, query, want string) func() error {
	return func() error {
		resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(query))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Value []any
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return fmt.Errorf("%s: %v", query, err)
		}
		if r.Status != "success" || len(r.Data.Result) != 1 || len(r.Data.Result[0].Value) != 2 {
			return fmt.Errorf("%s: %+v, want one sample", query, r)
		}
		if got := fmt.Sprint(r.Data.Result[0].Value[1]); got != want {
			return fmt.Errorf("%s = %s, want %s", query, got, want)
		}
		return nil
	}
}
