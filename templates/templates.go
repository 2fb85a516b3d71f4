// Package templates holds the GAS web pages (html/template) and the
// project's own static assets — one small stylesheet, one small script and
// an icon — embedded into the binary with go:embed so every deployment
// serves exactly the files it was built with and nothing comes from a CDN.
package templates

import "embed"

// Pages are the html/template files: layout.html plus one file per page.
//
//go:embed *.html
var Pages embed.FS

// Static are the assets served under /static/.
//
//go:embed static
var Static embed.FS
