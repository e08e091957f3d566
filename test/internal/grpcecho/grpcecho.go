// Package grpcecho gives the test workload and the local test program the
// same second face on their HTTP port: cleartext HTTP/2 (prior knowledge)
// beside HTTP/1, and grpc-go's health service, whose answers carry a
// "served-by" header naming who answered. Clients in the test pods call it
// with Ping (gRPC) and GetH2 (plain HTTP/2).
package grpcecho

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// Server serves h on addr over HTTP/1 and cleartext HTTP/2, gRPC calls
// going to the health service; servedBy names this server in gRPC answers,
// and each call is reported to onCall (its method).
func Server(addr, servedBy string, h http.Handler, onCall func(method string)) *http.Server {
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		onCall(info.FullMethod)
		_ = grpc.SetHeader(ctx, metadata.Pairs("served-by", servedBy))
		return next(ctx, req)
	}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Addr: addr, Protocols: &p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			gs.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})}
}

// Ping makes one health check to addr with x-user metadata and returns
// "served-by=NAME status=STATUS".
func Ping(addr, user string) (string, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-user", user)
	var hdr metadata.MD
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("served-by=%s status=%s", strings.Join(hdr.Get("served-by"), ","), resp.GetStatus()), nil
}

// GetH2 makes one GET over cleartext HTTP/2 with prior knowledge, with
// X-User, and returns the body.
func GetH2(url, user string) (string, error) {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-User", user)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}
