// Package js embeds the JavaScript SDK's sources, which redrtc --demo serves
// under /sdk/; the SDK itself is the npm package in this directory.
package js

import (
	"embed"
	"io/fs"
)

//go:embed src/*.js src/*.d.ts
var files embed.FS

// FS returns the SDK's files (index.js, client.js, …) at its root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "src")
	if err != nil { // only for a malformed name, which "src" is not
		panic(err)
	}
	return sub
}
