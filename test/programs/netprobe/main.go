// Command netprobe is the tracer suite's Go test program: each mode does one
// thing a real program does and prints what it observed, so a run under the
// tracer can be compared with a native run.
//
//	netprobe tcp ADDR          connect, print the peer address and the first line read
//	netprobe sockname ADDR     connect, print the first line read and the local address (getsockname)
//	netprobe udp ADDR MSG      unconnected sendto, print the reply's source and payload
//	netprobe dialtimeout ADDR MS  net.DialTimeout with MS milliseconds; print "connected" or the error
//	netprobe cat PATH          print a file; netprobe stat PATH prints its size
//	netprobe statfields PATH... os.Stat and File.Stat of each: Stat_t's mode, owner, size, links, inode, device, times
//	netprobe threads N         N OS threads doing syscalls at once; prints the total
//	netprobe signals           wait for SIGINT or SIGTERM, say which, exit 42
//	netprobe spin SECONDS      burn CPU (preemption signals under the tracer)
//	netprobe threadexec CMD... exec CMD from a thread that is not the leader
//	netprobe http URL N        N GETs on keep-alive connections, one body per line
//	netprobe bulk ADDR C SIZE  C concurrent connections to a TCP echo (greeting line first),
//	                           each sends SIZE random bytes, half-closes, checks the echo's sha256
//	netprobe conns URL N       N GETs, each on a new connection, 100 ms apart
//	netprobe stranger SECONDS  connect to every loopback listener and UDP port, report what came back
//	netprobe flood ADDR N SECS N connections that never authenticate; report how many were closed
//	netprobe relisten PORT     serve HTTP; GET /close closes the listener, 15 s later it listens again
//	netprobe listenfor PORT MS exit|live  serve HTTP for MS milliseconds, close the listener, then exit or live on
//	netprobe reconnect ADDR URL hold a TCP connection to ADDR until it is cut, say how it ended,
//	                           then GET URL until it works (across a dropped port-forward)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: netprobe tcp|udp|cat|stat|threads|signals|spin ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "tcp":
		err = probeTCP(os.Args[2])
	case "sockname":
		err = probeSockname(os.Args[2])
	case "udp":
		err = probeUDP(os.Args[2], os.Args[3])
	case "dialtimeout":
		ms, _ := strconv.Atoi(os.Args[3])
		err = probeDialTimeout(os.Args[2], time.Duration(ms)*time.Millisecond)
	case "cat":
		err = probeCat(os.Args[2])
	case "stat":
		err = probeStat(os.Args[2])
	case "statfields":
		err = probeStatFields(os.Args[2:])
	case "threads":
		n, _ := strconv.Atoi(os.Args[2])
		err = probeThreads(n)
	case "signals":
		probeSignals()
	case "http":
		n, _ := strconv.Atoi(os.Args[3])
		err = probeHTTP(os.Args[2], n)
	case "bulk":
		conns, _ := strconv.Atoi(os.Args[3])
		size, _ := strconv.Atoi(os.Args[4])
		err = probeBulk(os.Args[2], conns, size)
	case "conns":
		n, _ := strconv.Atoi(os.Args[3])
		err = probeConns(os.Args[2], n)
	case "stranger":
		secs, _ := strconv.Atoi(os.Args[2])
		probeStranger(secs)
	case "flood":
		n, _ := strconv.Atoi(os.Args[3])
		secs, _ := strconv.Atoi(os.Args[4])
		err = probeFlood(os.Args[2], n, secs)
	case "relisten":
		err = probeRelisten(os.Args[2])
	case "listenfor":
		ms, _ := strconv.Atoi(os.Args[3])
		err = probeListenFor(os.Args[2], time.Duration(ms)*time.Millisecond, os.Args[4])
	case "reconnect":
		err = probeReconnect(os.Args[2], os.Args[3])
	case "threadexec":
		err = probeThreadExec(os.Args[2:])
	case "spin":
		secs, _ := strconv.Atoi(os.Args[2])
		probeSpin(secs)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netprobe:", err)
		os.Exit(1)
	}
}
