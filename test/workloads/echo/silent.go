package main

import (
	"net"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// serveSilent listens on port and never answers a connect: its accept queue
// (backlog 1, so two connections) is filled by itself and never taken, so
// the kernel drops every other SYN. A client's connect waits until its own
// timeout, as towards a host that does not answer.
func serveSilent(port int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 1); err != nil {
		return err
	}
	for range 2 {
		c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			return err
		}
		defer c.Close() // never: they hold the queue full while the pod lives
	}
	select {}
}
