package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
)

// readmeBlocks returns the distinct ```js blocks of the READMEs.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	fence := regexp.MustCompile("(?ms)^```js\n(.*?)^```")
	var blocks []string
	for _, name := range []string{"../../README.md", "../../README.zh.md"} {
		text, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllStringSubmatch(string(text), -1) {
			if !contains(blocks, m[1]) {
				blocks = append(blocks, m[1])
			}
		}
	}
	if len(blocks) == 0 {
		t.Fatal("no ```js block in the READMEs")
	}
	return blocks
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// runModule runs code as a module script in tab and reports errors it
// throws, at once or later, in window.readmeErrors.
func runModule(tab context.Context, code string) error {
	_, err := eval[bool](tab, `(() => {
  window.readmeErrors = [];
  addEventListener('error', (e) => readmeErrors.push(String(e.message)));
  addEventListener('unhandledrejection', (e) => readmeErrors.push(String(e.reason)));
  const s = document.createElement('script');
  s.type = 'module';
  s.textContent = `+strconv.Quote(code)+`;
  document.head.append(s);
  return true;
})()`)
	return err
}

// TestREADMECodeRunsInChromium runs each JavaScript block of the READMEs,
// as written but for the server's address, in two tabs of headless Chromium
// with a fake camera: each tab must show the other's video, playing. The
// tabs are pages of the --demo server with no room in their address, whose
// call page therefore only waits, so that the blocks run in a secure context
// of the server's origin, as on a developer's localhost.
func TestREADMECodeRunsInChromium(t *testing.T) {
	browser := newBrowser(t)
	addr := startDemo(t)
	for i, block := range readmeBlocks(t) {
		t.Run(fmt.Sprintf("block %d", i+1), func(t *testing.T) {
			code := strings.ReplaceAll(block, "localhost:8080", addr)
			tabs := []context.Context{openTab(t, browser, "http://"+addr+"/", i == 0), openTab(t, browser, "http://"+addr+"/", false)}
			for _, tab := range tabs {
				if err := runModule(tab, code); err != nil {
					t.Fatalf("run the block: %v", err)
				}
			}
			type videos struct {
				Playing []string `json:"playing"`
				Errors  []string `json:"errors"`
			}
			for n, tab := range tabs {
				testkit.CheckFor(t, browserWait, 250*time.Millisecond, func() error {
					v, err := eval[videos](tab, `({
  playing: [...document.querySelectorAll('body > video')].filter((v) => v.videoWidth > 0 && v.currentTime > 0).map((v) => v.id),
  errors: window.readmeErrors,
})`)
					switch {
					case err != nil:
						return err
					case len(v.Errors) > 0:
						return testkit.GiveUp(fmt.Errorf("tab %d: the block threw: %v", n, v.Errors))
					case len(v.Playing) != 1:
						return fmt.Errorf("tab %d plays %d remote videos (%v), want the other tab's", n, len(v.Playing), v.Playing)
					}
					return nil
				})
			}
		})
	}
}
