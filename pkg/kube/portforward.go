package kube

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/streaming/pkg/httpstream"
)

// DialPod opens a port-forward to a port of a pod and returns it as a
// net.Conn, with no local listening port. It speaks SPDY over WebSocket when
// the API server offers it, and plain SPDY otherwise, as kubectl does.
func DialPod(cfg *rest.Config, cs kubernetes.Interface, namespace, pod string, port int) (net.Conn, error) {
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	// The streaming-module types, as kubectl's own port-forward uses: the WebSocket
	// dialer's upgrade failures are k8s.io/streaming errors, so a check with the older
	// apimachinery type never matches and a refused WebSocket upgrade (an API server
	// from 1.35 on authorizes it as both get and create) would never fall back to SPDY.
	var dialer httpstream.Dialer = spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	if ws, err := portforward.NewSPDYOverWebsocketDialerForStreaming(url, cfg); err == nil {
		dialer = portforward.NewFallbackDialerForStreaming(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	conn, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod/%s: %w", pod, err)
	}
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(port))
	headers.Set(corev1.PortForwardRequestIDHeader, "0")
	errStream, err := conn.CreateStream(headers)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("port-forward error stream: %w", err)
	}
	_ = errStream.Close() // we never write to it; the kubelet writes failures
	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(headers)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("port-forward data stream: %w", err)
	}
	c := &pfConn{conn: conn, data: data, remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}}
	go c.watchErrors(errStream)
	return c, nil
}

// pfConn is one port-forward stream as a net.Conn.
type pfConn struct {
	conn   httpstream.Connection
	data   httpstream.Stream
	remote net.Addr

	mu     sync.Mutex
	pfErr  error
	closed sync.Once
}

// watchErrors surfaces what the kubelet reports (for example "connection
// refused" when nothing listens on the port) and ends the connection.
func (c *pfConn) watchErrors(s httpstream.Stream) {
	msg, _ := io.ReadAll(s)
	if len(msg) > 0 {
		c.mu.Lock()
		c.pfErr = fmt.Errorf("port-forward: %s", msg)
		c.mu.Unlock()
		c.Close()
	}
}

func (c *pfConn) err(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pfErr != nil {
		return c.pfErr
	}
	return err
}

func (c *pfConn) Read(b []byte) (int, error) {
	n, err := c.data.Read(b)
	if err != nil && n == 0 {
		return 0, c.err(err)
	}
	return n, err
}

func (c *pfConn) Write(b []byte) (int, error) {
	n, err := c.data.Write(b)
	if err != nil {
		return n, c.err(err)
	}
	return n, nil
}

func (c *pfConn) Close() error {
	c.closed.Do(func() {
		_ = c.data.Reset()
		_ = c.conn.Close()
	})
	return nil
}

// ErrNoDeadlines: a port-forward stream has no deadlines; smux does not use them.
var ErrNoDeadlines = errors.New("port-forward connections do not support deadlines")

func (c *pfConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *pfConn) RemoteAddr() net.Addr             { return c.remote }
func (c *pfConn) SetDeadline(time.Time) error      { return ErrNoDeadlines }
func (c *pfConn) SetReadDeadline(time.Time) error  { return ErrNoDeadlines }
func (c *pfConn) SetWriteDeadline(time.Time) error { return ErrNoDeadlines }
