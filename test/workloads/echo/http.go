package main

import (
	"encoding/json"
	"net/http"
	"os"

	"github.com/kubectl-mirror/kubectl-mirror/test/internal/grpcecho"
)

// httpReply is what every HTTP request gets back.
type httpReply struct {
	Pod     string              `json:"pod"`
	PodIP   string              `json:"podIP"`
	Remote  string              `json:"remote"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
}

func serveHTTP(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(httpReply{
			Pod:     os.Getenv("POD_NAME"),
			PodIP:   os.Getenv("POD_IP"),
			Remote:  r.RemoteAddr,
			Method:  r.Method,
			Path:    r.URL.Path,
			Headers: r.Header,
		})
	})
	// The same port speaks cleartext HTTP/2 and gRPC (the filters' tests).
	return grpcecho.Server(addr, "pod/"+os.Getenv("POD_NAME"), mux, func(string) {}).ListenAndServe()
}
