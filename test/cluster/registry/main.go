// Command registry is the test cluster's image registry: go-containerregistry's
// in-memory registry, plain HTTP on the node's address, so that containerd
// pulls the cluster's images (the agent, the test workloads) as a user's
// nodes do. With -auth-listen it also serves a second, separate registry that
// asks for basic auth (-auth USER:PASSWORD), for the pull-secret tests.
//
//	registry -listen 10.250.0.1:5000 -auth-listen 10.250.0.1:5001 -auth test:secret
package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	listen := flag.String("listen", "", "HOST:PORT of the open registry")
	authListen := flag.String("auth-listen", "", "HOST:PORT of the registry behind basic auth")
	auth := flag.String("auth", "", "USER:PASSWORD the second registry asks for")
	flag.Parse()
	user, pass, ok := strings.Cut(*auth, ":")
	if *listen == "" || (*authListen != "" && !ok) {
		fmt.Fprintln(os.Stderr, "usage: registry -listen HOST:PORT [-auth-listen HOST:PORT -auth USER:PASSWORD]")
		os.Exit(2)
	}
	quiet := log.New(os.Stderr, "", log.LstdFlags)
	errs := make(chan error, 2)
	go func() { errs <- http.ListenAndServe(*listen, registry.New(registry.Logger(quiet))) }()
	if *authListen != "" {
		open := registry.New(registry.Logger(quiet))
		guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(pass)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="kubectl-mirror test registry"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			open.ServeHTTP(w, r)
		})
		go func() { errs <- http.ListenAndServe(*authListen, guarded) }()
	}
	log.Fatal(<-errs)
}
