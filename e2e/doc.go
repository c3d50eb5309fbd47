// Package e2e holds Bulwark's browser tests: they start the real server
// (SQLite store, auth, REST API, web UI, server middleware) on a loopback
// port, load a city into it, and drive Debian's Chromium headless with
// chromedp through login, the lists, the interactive dependency graph,
// pagination and logout, checking on the way that no seeded XSS payload
// runs and that one organization never sees another's city model.
//
// Run them with `go test ./e2e`; they skip without Chromium (and fail in
// CI). `go test ./e2e -run TestDemoGraph -screenshot` rewrites
// docs/screenshot.png from the demo city.
package e2e
