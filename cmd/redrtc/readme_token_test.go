package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestREADMETokenSnippetsMintTokensTheServerAccepts runs the README's
// backend snippets, Node's and Python's, as written: each mints a token
// for a room with the server's secret, and the server lets a client holding
// it into that room and no other.
func TestREADMETokenSnippetsMintTokensTheServerAccepts(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, addr := serve(t, "-i", "127.0.0.1", "--auth-secret", cmdTestSecret)
	for _, tc := range []struct {
		fence, tool, install string
		call                 string
		run                  func(path, code string) *exec.Cmd
	}{
		{"node", "node", "apt-get install nodejs",
			"console.log(roomToken(process.env.SECRET, 'lobby', 60));",
			func(path, code string) *exec.Cmd { return exec.Command(path, "--input-type=module", "-e", code) }},
		{"python", "python3", "apt-get install python3",
			"print(room_token(__import__('os').environ['SECRET'], 'lobby', 60))",
			func(path, code string) *exec.Cmd { return exec.Command(path, "-c", code) }},
	} {
		t.Run(tc.fence, func(t *testing.T) {
			path := testkit.RequireTool(t, tc.install, tc.tool)
			blocks := regexp.MustCompile("(?ms)^```"+tc.fence+"\n(.*?)^```").FindAllSubmatch(readme, -1)
			if len(blocks) != 1 {
				t.Fatalf("%d ```%s blocks in the README, want the one that mints a token", len(blocks), tc.fence)
			}
			cmd := tc.run(path, string(blocks[0][1])+"\n"+tc.call+"\n")
			cmd.Env = append(os.Environ(), "SECRET="+cmdTestSecret)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the README's %s snippet: %v", tc.fence, err)
			}
			token := strings.TrimSpace(string(out))
			c := testkit.Dial(t, wsURL(addr)+"?token="+token)
			c.Send("join-room", map[string]any{"roomId": "elsewhere"})
			c.ExpectError("unauthorized", "join-room")
			c.Join("lobby")
		})
	}
}
