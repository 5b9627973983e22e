// Package call embeds the call page (index.html, call.js, call.css), which
// redrtc --demo serves at /.
package call

import (
	"embed"
	"io/fs"
)

//go:embed index.html call.js call.css
var files embed.FS

// FS returns the call page's files at its root.
func FS() fs.FS { return files }
