package main

import (
	"bufio"
	"fmt"
	"net"
	"syscall"
	"time"
)

func probeTCP(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	// Ask the kernel directly: net.Conn caches the address it dialed.
	var peer syscall.Sockaddr
	var perr error
	_ = raw.Control(func(fd uintptr) { peer, perr = syscall.Getpeername(int(fd)) })
	if perr != nil {
		return perr
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Printf("peer %s\nread %s", sockaddrString(peer), line)
	return nil
}

func probeUDP(addr, msg string) error {
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDP(buf)
	if err != nil {
		return err
	}
	fmt.Printf("from %s\nreply %s\n", from, buf[:n])
	return nil
}

func sockaddrString(sa syscall.Sockaddr) string {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	case *syscall.SockaddrInet6:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	}
	return fmt.Sprintf("%v", sa)
}

// probeSockname connects, reads the server's first line and prints the
// local address the kernel reports for the socket (getsockname).
func probeSockname(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	var local syscall.Sockaddr
	var lerr error
	_ = raw.Control(func(fd uintptr) { local, lerr = syscall.Getsockname(int(fd)) })
	if lerr != nil {
		return lerr
	}
	fmt.Printf("read %slocal %s\n", line, sockaddrString(local))
	return nil
}

// probeDialTimeout connects with the program's own timeout.
func probeDialTimeout(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	fmt.Println("connected")
	return c.Close()
}
