// Package server builds Bulwark's http.Server: the top-level mux (/api/v1/
// to the REST API, /taxii2/ to TAXII 2.1, everything else to the web UI), the middleware every
// request passes through, timeouts, TLS settings and graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"bulwark/internal/auth"
)

// Config configures the server. Zero fields take the defaults shown.
type Config struct {
	Addr string
	// TLS, when set, is used by ListenAndServeTLS (see TLSConfig); it also
	// turns on Strict-Transport-Security.
	TLS *tls.Config
	// MaxBodyBytes caps every request body (64 MiB + 1 KiB, the largest
	// import the API accepts plus room for a multipart envelope); handlers
	// apply tighter caps of their own.
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration // 10s: slow headers (slowloris) are cut off
	ReadTimeout       time.Duration // 2m: the whole request, body included
	WriteTimeout      time.Duration // 10m: long exports still finish
	IdleTimeout       time.Duration // 2m
}

// DefaultMaxBodyBytes is the default cap on request bodies.
const DefaultMaxBodyBytes = 64<<20 + 1<<10

// Handlers are what the server mounts.
type Handlers struct {
	API   http.Handler // serves /api/v1/
	TAXII http.Handler // serves /taxii2/ (TAXII 2.1)
	Web   http.Handler // serves everything else
	Auth  *auth.Service
}

// New returns the configured *http.Server; the caller listens and serves.
func New(cfg Config, h Handlers, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	cfg.ReadHeaderTimeout = or(cfg.ReadHeaderTimeout, 10*time.Second)
	cfg.ReadTimeout = or(cfg.ReadTimeout, 2*time.Minute)
	cfg.WriteTimeout = or(cfg.WriteTimeout, 10*time.Minute)
	cfg.IdleTimeout = or(cfg.IdleTimeout, 2*time.Minute)

	mux := http.NewServeMux()
	if h.API != nil {
		mux.Handle("/api/v1/", h.API)
	}
	if h.TAXII != nil {
		// Both, so that /taxii2 is answered by TAXII (404: TAXII paths end
		// with a slash) rather than redirected.
		mux.Handle("/taxii2/", h.TAXII)
		mux.Handle("/taxii2", h.TAXII)
	}
	if h.Web != nil {
		mux.Handle("/", h.Web)
	} else {
		mux.Handle("/", http.NotFoundHandler())
	}
	var handler http.Handler = mux
	if h.Auth != nil {
		handler = h.Auth.Middleware(handler)
	}
	handler = limitBody(cfg.MaxBodyBytes, handler)
	handler = crossOrigin(handler)
	handler = securityHeaders(cfg.TLS != nil, handler)
	handler = logRequests(log, handler)
	handler = recoverPanics(log, handler)

	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		TLSConfig:         cfg.TLS,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// TLSConfig returns TLS settings for serving: TLS 1.2 or later, and on 1.2
// only ECDHE suites with AEAD ciphers (Go's defaults still allow CBC ones).
// TLS 1.3 suites are not configurable and are all AEAD.
func TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// Shutdown stops srv gracefully: it stops accepting connections and waits up
// to timeout for requests in flight, then closes what remains.
func Shutdown(ctx context.Context, srv *http.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	return nil
}

// writeError writes a JSON error body for API paths and plain text elsewhere;
// the server's own errors use the same shape as the API's.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, "/taxii2/") {
		// TAXII 2.1 error message (section 3.6.1) in the TAXII media type.
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"title":%q,"description":%q,"http_status":"%d"}`+"\n", http.StatusText(status), msg, status)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`+"\n", code, msg)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// recoverPanics turns a panic into 500 "internal error" and logs the stack;
// the client never sees it.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rw, ok := w.(*statusWriter); !ok || rw.status == 0 {
				writeError(w, r, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequests logs one line per request: never headers, cookies or bodies.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)), slog.String("remote", auth.ClientAddr(r)))
		}()
		next.ServeHTTP(sw, r)
	})
}

// ContentSecurityPolicy allows only same-origin scripts and styles (no
// inline code), no plugins, no framing and no foreign form targets.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(tls bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin rejects cross-site state-changing browser requests (Go's
// Sec-Fetch-Site / Origin check).
func crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusForbidden, "forbidden", "cross-origin request refused")
	}))
	return cop.Handler(next)
}

// limitBody caps request bodies; reading past the cap fails with
// *http.MaxBytesError, which handlers report as 413.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is larger than %d bytes", n))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, n)
		}
		next.ServeHTTP(w, r)
	})
}

// ErrBodyTooLarge reports whether err came from reading past a body cap.
func ErrBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
