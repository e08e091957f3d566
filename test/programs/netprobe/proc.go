package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func probeCat(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

func probeStat(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("size %d\n", st.Size())
	return nil
}

// probeThreads runs n goroutines locked to their own OS threads, each
// opening and stat-ing files: intercepted syscalls from many threads at once.
func probeThreads(n int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			<-start
			ok := 0
			for j := 0; j < 20; j++ {
				if f, err := os.Open("/dev/null"); err == nil {
					f.Close()
					ok++
				}
				if _, err := os.Stat("/"); err == nil {
					ok++
				}
				_ = syscall.Getpid()
			}
			mu.Lock()
			total += ok
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	fmt.Printf("threads %d ok %d\n", n, total)
	return nil
}

func probeSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	fmt.Println("ready")
	s := <-ch
	fmt.Printf("got %v\n", s)
	os.Exit(42)
}

func probeSpin(secs int) {
	end := time.Now().Add(time.Duration(secs) * time.Second)
	x := 0
	for time.Now().Before(end) {
		for i := 0; i < 1e6; i++ {
			x += i
		}
	}
	fmt.Println("spun", x > 0)
}

// probeThreadExec execs argv from a goroutine locked to a thread other than
// the thread-group leader: the kernel then gives that thread the leader's tid.
func probeThreadExec(argv []string) error {
	runtime.LockOSThread() // keep main on the leader thread
	errc := make(chan error)
	go func() {
		runtime.LockOSThread()
		if syscall.Gettid() == syscall.Getpid() {
			errc <- fmt.Errorf("goroutine landed on the leader thread")
			return
		}
		path, err := exec.LookPath(argv[0])
		if err != nil {
			errc <- err
			return
		}
		errc <- syscall.Exec(path, argv, os.Environ())
	}()
	return <-errc
}

// probeStatFields prints, for each path, what os.Stat (stat by path) and
// File.Stat (fstat of an open fd) report in syscall.Stat_t: mode, owner,
// size, link count, inode, device and times.
func probeStatFields(paths []string) error {
	for _, p := range paths {
		byPath, err := os.Stat(p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		byFD, err := f.Stat()
		f.Close()
		if err != nil {
			return err
		}
		for _, s := range []struct {
			how string
			fi  os.FileInfo
		}{{"stat", byPath}, {"fstat", byFD}} {
			st := s.fi.Sys().(*syscall.Stat_t)
			fmt.Printf("%s %s mode=%o uid=%d gid=%d size=%d nlink=%d ino=%d dev=%d mtime=%d.%09d ctime=%d.%09d\n",
				s.how, p, st.Mode, st.Uid, st.Gid, st.Size, st.Nlink, st.Ino, st.Dev,
				st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
		}
	}
	return nil
}
