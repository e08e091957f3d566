// Command httpserve is the incoming suite's local program: an HTTP server on
// :PORT that answers {"local":true,...} and prints one line per request it
// gets ("got GET /path"), so a test can see copies and stolen requests.
// It speaks cleartext HTTP/2 and gRPC's health service on the same port.
// With FAILPATH it answers 500 there (a local build whose health check fails).
//
//	httpserve PORT [FAILPATH]
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/kubectl-mirror/kubectl-mirror/test/internal/grpcecho"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: httpserve PORT [FAILPATH]")
		os.Exit(2)
	}
	var mu sync.Mutex
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Printf("got %s %s\n", r.Method, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if len(os.Args) == 3 && r.URL.Path == os.Args[2] {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"local": true, "path": r.URL.Path, "remote": r.RemoteAddr})
	})
	fmt.Println("listening")
	// gRPC calls (HTTP/2 on the same port) are printed as "got grpc METHOD".
	srv := grpcecho.Server(":"+os.Args[1], "local", http.DefaultServeMux, func(method string) {
		mu.Lock()
		fmt.Printf("got grpc %s\n", method)
		mu.Unlock()
	})
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
