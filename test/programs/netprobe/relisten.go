package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// probeRelisten is a server that closes its listener and keeps running (a
// hot reload): it answers {"local":true} and prints "served PATH"; a
// request for /close closes the listener, and 15 s later it listens again.
func probeRelisten(port string) error {
	for round := 0; round < 2; round++ {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			return err
		}
		if round == 0 {
			fmt.Println("listening")
		} else {
			fmt.Println("listening again")
		}
		closed := make(chan struct{})
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_ = json.NewEncoder(w).Encode(map[string]any{"local": true, "path": r.URL.Path})
			fmt.Println("served", r.URL.Path)
			if r.URL.Path == "/close" {
				go func() { ln.Close(); close(closed) }()
			}
		})}
		go func() { _ = srv.Serve(ln) }()
		if round == 1 {
			select {} // serve until the test ends the program
		}
		<-closed
		fmt.Println("closed")
		time.Sleep(15 * time.Second)
	}
	return nil
}
