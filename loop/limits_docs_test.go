package loop

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// limitDocs are the documents whose tables give the limits' defaults. A
// table takes part when it has a default column; its rows name a limit by
// flag, in the flag column, or by their first cell. needRange: every row of
// a limit with a flag gives its range too. without: the limits a document
// need not list.
var limitDocs = []struct {
	path      string
	needRange bool
	without   []string
}{
	{"../README.md", true, nil},
	{"../docs/security.md", true, []string{"--port"}}, // a setting, not a limit on clients
	{"../README.zh.md", false, []string{"max message size"}},
}

// flagsNotLimits are the flags the tables list that take no number.
var flagsNotLimits = []string{"interface", "allowed-origins", "debug-addr", "demo", "log-file", "pid-file", "daemon", "verbose", "help", "version",
	"admin-addr", "admin-token", "auth-secret", "auth-secret-file", "auth-public-key", "auth-issuer", "auth-audience", "auth-leeway",
	"turn-secret", "turn-secret-file", "turn-uris", "stun-uris", "turn-ttl",
	"nats-url", "node-id", "node-timeout", "cluster-name", "nats-creds", "nats-token-file", "nats-ca", "nats-cert", "nats-key"}

// fixedLimits are the rows of limits without a flag, by the start of their
// first cell, and what their default cell must say. "" checks nothing.
var fixedLimits = map[string]string{
	"members per room":     strconv.Itoa(registry.RoomCapacity),
	"ice-candidate":        kib(proto.MaxCandidateLen),
	"room id":              fmt.Sprintf("1–%d bytes", proto.MaxRoomIDLen),
	"room name":            fmt.Sprintf("%d characters", proto.MaxRoomNameLen),
	"json nesting":         fmt.Sprintf("%d levels", proto.MaxDepth),
	"http upgrade time":    fmt.Sprintf("%d s", HandshakeTimeout/time.Second),
	"http request headers": kib(MaxHeaderBytes),
	"open files":           "",
}

func kib(n int) string { return fmt.Sprintf("%d KiB", n>>10) }

func TestDocsTablesAgreeWithLimits(t *testing.T) {
	for _, doc := range limitDocs {
		t.Run(strings.TrimPrefix(doc.path, "../"), func(t *testing.T) {
			text, err := os.ReadFile(doc.path)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, tab := range markdownTables(string(text)) {
				checkLimitsTable(t, tab, doc.needRange, seen)
			}
			for _, l := range limits {
				if !seen[l.name()] && !slices.Contains(doc.without, l.name()) {
					t.Errorf("no table row gives %s", l.name())
				}
			}
		})
	}
}

var (
	flagName   = regexp.MustCompile("`--([a-z-]+)`")
	quantity   = regexp.MustCompile(`^([\d,]+)\s*([KMG]iB)?`)
	rangeOfTwo = regexp.MustCompile(`\(([\d,]+(?:\s*[KMG]iB)?)\s*[–-]\s*([\d,]+(?:\s*[KMG]iB)?)`)
)

func checkLimitsTable(t *testing.T, tab [][]string, needRange bool, seen map[string]bool) {
	t.Helper()
	flagCol, defCol := column(tab[0], "flag", "参数"), column(tab[0], "default", "默认值")
	if defCol < 0 {
		return
	}
	for _, row := range tab[1:] {
		var flags []string
		if flagCol >= 0 {
			for _, m := range flagName.FindAllStringSubmatch(row[flagCol], -1) {
				flags = append(flags, m[1])
			}
		}
		if len(flags) == 0 {
			checkFixedRow(t, row, defCol, seen)
			continue
		}
		defaults := []string{row[defCol]}
		if len(flags) > 1 { // "`--rate` / `--burst`" with "50 / 200"
			defaults = strings.Split(row[defCol], " / ")
		}
		for i, f := range flags {
			l, ok := limitByName("--" + f)
			if !ok {
				if !slices.Contains(flagsNotLimits, f) {
					t.Errorf("row %q names --%s, which redrtc does not have", row[0], f)
				}
				continue
			}
			if len(defaults) != len(flags) {
				t.Errorf("row %q: %d flags, %d defaults", row[0], len(flags), len(defaults))
				break
			}
			seen[l.name()] = true
			if got, ok := parseQuantity(defaults[i]); !ok || got != l.Default {
				t.Errorf("%s: the table's default %q, Limits' %d", l.name(), defaults[i], l.Default)
			}
			if len(flags) > 1 {
				continue
			}
			m := rangeOfTwo.FindStringSubmatch(strings.Join(row[defCol:], " | "))
			if m == nil {
				if needRange {
					t.Errorf("%s: the row gives no range (%d–%d)", l.name(), l.Min, l.Max)
				}
				continue
			}
			lo, _ := parseQuantity(m[1])
			hi, _ := parseQuantity(m[2])
			if lo != l.Min || hi != l.Max {
				t.Errorf("%s: the table's range %s–%s, Limits' %d–%d", l.name(), m[1], m[2], l.Min, l.Max)
			}
		}
	}
}

// checkFixedRow checks a row of a limit that has no flag: the largest
// message by the Limit, the others by fixedLimits.
func checkFixedRow(t *testing.T, row []string, defCol int, seen map[string]bool) {
	t.Helper()
	label := strings.ToLower(row[0])
	if strings.HasPrefix(label, "message size") {
		l, _ := limitByName("max message size")
		seen[l.name()] = true
		if got, ok := parseQuantity(row[defCol]); !ok || got != l.Default {
			t.Errorf("%s: the table's default %q, Limits' %d", l.name(), row[defCol], l.Default)
		}
		return
	}
	for prefix, want := range fixedLimits {
		if strings.HasPrefix(label, prefix) {
			if cell := strings.ReplaceAll(row[defCol], "`", ""); !strings.HasPrefix(cell, want) {
				t.Errorf("%s: the table says %q, the code %q", row[0], cell, want)
			}
			return
		}
	}
	t.Errorf("row %q names no flag and no limit this test knows", row[0])
}

// parseQuantity reads the number a cell starts with: "1,024", "300 s",
// "1 MiB" (1048576).
func parseQuantity(s string) (int, bool) {
	m := quantity.FindStringSubmatch(strings.TrimSpace(strings.ReplaceAll(s, "`", "")))
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil {
		return 0, false
	}
	switch m[2] {
	case "KiB":
		n <<= 10
	case "MiB":
		n <<= 20
	case "GiB":
		n <<= 30
	}
	return n, true
}

// markdownTables returns each table in text as rows of trimmed cells, the
// header first and the separator left out.
func markdownTables(text string) [][][]string {
	var tables [][][]string
	var cur [][]string
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			if cur != nil {
				tables = append(tables, cur)
				cur = nil
			}
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.Trim(strings.Join(cells, ""), "-: ") == "" {
			continue
		}
		cur = append(cur, cells)
	}
	if cur != nil {
		tables = append(tables, cur)
	}
	return tables
}

// column returns the index of the first column whose header starts with one
// of names ("default (range)"), or -1.
func column(header []string, names ...string) int {
	for i, h := range header {
		for _, name := range names {
			if strings.HasPrefix(strings.ToLower(h), name) {
				return i
			}
		}
	}
	return -1
}

func limitByName(name string) (Limit, bool) {
	for _, l := range limits {
		if l.name() == name {
			return l, true
		}
	}
	return Limit{}, false
}
