package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// probeListenFor serves HTTP ({"local":true}) for d from its first request,
// then closes its listener and prints "closed"; then it exits when then is
// "exit", or lives on. d 0: it listens and closes at once.
func probeListenFor(port string, d time.Duration, then string) error {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	fmt.Println("listening")
	first := make(chan struct{})
	var once sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(first) })
		w.Header().Set("Connection", "close")
		_ = json.NewEncoder(w).Encode(map[string]any{"local": true, "path": r.URL.Path})
		fmt.Println("served", r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	if d > 0 {
		<-first
		time.Sleep(d)
	}
	if err := ln.Close(); err != nil {
		return err
	}
	fmt.Println("closed")
	if then == "exit" {
		// In-flight answers finish first, as a server shutting down does.
		time.Sleep(200 * time.Millisecond)
		os.Exit(0)
	}
	select {}
}
