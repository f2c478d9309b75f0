// Package ui holds the web UI: plain ES modules, HTML and CSS embedded in
// the binary (no build step, nothing loaded from elsewhere). httpapi
// serves it at /ui/.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files are the UI's files, index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// ContentSecurityPolicy allows only the UI's own scripts, styles and API
// calls: no inline script, no eval, no other origin.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
