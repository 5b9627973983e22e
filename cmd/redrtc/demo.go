package main

import (
	"fmt"
	"io/fs"
	"net"
	"path"
	"strconv"

	"github.com/rs/zerolog"

	sdk "github.com/redrtc/redrtc/clients/js"
	"github.com/redrtc/redrtc/examples/call"
	"github.com/redrtc/redrtc/loop"
)

// demoTypes are the content types of the files --demo serves.
var demoTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".ts":   "text/plain; charset=utf-8",
}

// demoFiles is what --demo serves: the call page at / and the SDK under
// /sdk/, from the copies embedded in the binary.
func demoFiles() (map[string]loop.StaticFile, error) {
	files := make(map[string]loop.StaticFile)
	add := func(fsys fs.FS, prefix string) error {
		return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := fs.ReadFile(fsys, name)
			if err != nil {
				return fmt.Errorf("demo file %s: %w", name, err)
			}
			typ, ok := demoTypes[path.Ext(name)]
			if !ok {
				return fmt.Errorf("demo file %s: no content type for its extension", name)
			}
			files[prefix+name] = loop.StaticFile{ContentType: typ, Body: body}
			return nil
		})
	}
	if err := add(call.FS(), "/"); err != nil {
		return nil, err
	}
	if err := add(sdk.FS(), "/sdk/"); err != nil {
		return nil, err
	}
	files["/"] = files["/index.html"]
	return files, nil
}

// enableDemo sets cfg to serve the demo's files when demo is set.
func enableDemo(cfg *loop.Config, demo bool) error {
	if !demo {
		return nil
	}
	files, err := demoFiles()
	if err != nil {
		return err
	}
	cfg.Static = files
	return nil
}

// announceDemo logs the call page's address, for make run to show.
func announceDemo(log *zerolog.Logger, demo bool, addr net.Addr) {
	if !demo {
		return
	}
	host := "localhost"
	tcp, ok := addr.(*net.TCPAddr)
	if ok && !tcp.IP.IsUnspecified() && !tcp.IP.IsLoopback() {
		host = tcp.IP.String()
	}
	port := 0
	if ok {
		port = tcp.Port
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/#hello"
	log.Warn().Str("url", url).Msg("--demo: serving the call page and the SDK on the signaling port; not for production. Open the url in two browser tabs")
}
