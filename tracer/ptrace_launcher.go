package tracer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// A Launcher (a shell, env, make) is stepped only until its libraries are
// in; then it gets a filter gated by its own code's addresses
// (filter_gate.go): its intercepted calls stop at seccomp stops, and every
// other call of it runs at native speed, instead of two stops per call.
// The gate is built from the launcher's executable mappings once the
// dynamic loader is done, that is at its first syscall made from outside
// the loader (the loader maps every needed library before it runs any of
// their code). The gated filter stops (RET_TRACE) rather than notifies: a
// process's filters may hold only one listener, and the programs the
// launcher runs get theirs at their exec.
//
// The gate relies on address space randomization: the image a child execs
// lies elsewhere, so the gate lets its calls through. Where randomization
// is off (the personality's ADDR_NO_RANDOMIZE, as under setarch -R, or the
// kernel.randomize_va_space sysctl at 0), a child's libraries could lie
// where its launcher's did, and the launcher stays stepped.

// launcherState is how a Launcher's own calls are seen.
type launcherState struct {
	gated   bool    // its gated filter is in: its calls stop at seccomp stops
	looked  bool    // its loader and randomization have been looked at
	stepped bool    // no gate can be trusted here: stepped for good
	loader  ipRange // the dynamic loader's code (empty for a static program)
}

// addrNoRandomize is the personality flag that turns randomization off.
const addrNoRandomize = 0x0040000

// atBase is the auxiliary vector's AT_BASE: where the loader was mapped.
const atBase = 7

// gateLauncher puts the gated filter into th's process when the call th is
// stopped at comes from past the loader; false when the launcher stays
// stepped for now (its call is then decided as a stepped launcher's).
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) gateLauncher(th *thread, r *regs) bool {
	l := &th.proc.launcher
	if l.stepped || l.gated {
		return false
	}
	if e.filters.pathFree {
		// Under the mount view the filter holds socket calls alone, which
		// may as well stop in the launcher's children too (an intercepted
		// child's own notifying filter wins over it; a native child's few
		// are let through): no gate, so no stepping through the loader.
		e.injectLauncherFilter(th, r, e.filters.traceProg)
		return true
	}
	if !l.looked {
		l.looked = true
		loader, err := launcherLayout(th.proc.pid)
		if err != nil {
			e.log.Debug("a launcher stays stepped", zap.Int("pid", th.proc.pid), zap.Error(err))
			l.stepped = true
			return false
		}
		l.loader = loader
	}
	if ipIn([]ipRange{l.loader}, r.pc()) {
		return false
	}
	ranges, err := codeRanges(th.proc.pid)
	if err != nil || len(ranges) == 0 {
		e.log.Debug("a launcher stays stepped: its code is not known", zap.Int("pid", th.proc.pid), zap.Error(err))
		l.stepped = true
		return false
	}
	prog := gateByIP(e.filters.traceProg, ranges)
	if fprogSize+8*len(prog) > fallbackOff {
		e.log.Debug("a launcher stays stepped: its code has too many mappings", zap.Int("pid", th.proc.pid), zap.Int("ranges", len(ranges)))
		l.stepped = true
		return false
	}
	e.injectLauncherFilter(th, r, prog)
	return true
}

// injectLauncherFilter puts a launcher's filter prog in, at the syscall th
// is stopped at, which then runs again under it.
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) injectLauncherFilter(th *thread, r *regs, prog []unix.SockFilter) {
	e.injectFilter(th, *r, &filterLoad{img: progImage(prog), flags: unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, done: func(saved regs, _ int64) {
		th.proc.launcher.gated = true
		e.stats.LauncherGates++
		again := saved
		again.rearm()
		if err := setRegs(th.tid, &again); err != nil {
			e.injectFailed(th, "restore registers", err)
		}
	}})
}

// launcherLayout is where a process's dynamic loader's code lies, or an
// error when its calls could not be told apart from its children's.
func launcherLayout(pid int) (ipRange, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile("/proc/sys/kernel/randomize_va_space"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return ipRange{}, fmt.Errorf("address space randomization is off (kernel.randomize_va_space = 0)")
	}
	b, err := os.ReadFile(dir + "/personality")
	if err != nil {
		return ipRange{}, err
	}
	pers, err := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 32)
	if err != nil {
		return ipRange{}, err
	}
	if pers&addrNoRandomize != 0 {
		return ipRange{}, fmt.Errorf("address space randomization is off for this process (ADDR_NO_RANDOMIZE)")
	}
	base, err := auxvValue(dir+"/auxv", atBase)
	if err != nil || base == 0 {
		return ipRange{}, err // static: no loader
	}
	maps, err := readMaps(pid)
	if err != nil {
		return ipRange{}, err
	}
	var file string
	for _, m := range maps {
		if base >= m.start && base < m.end {
			file = m.file
		}
	}
	var loader ipRange
	for _, m := range maps {
		if m.exec && m.file == file && file != "" {
			if loader.end == 0 {
				loader = ipRange{m.start, m.end}
			}
			loader.start, loader.end = min(loader.start, m.start), max(loader.end, m.end)
		}
	}
	return loader, nil
}

// codeRanges is the executable mappings of a process.
func codeRanges(pid int) ([]ipRange, error) {
	maps, err := readMaps(pid)
	var out []ipRange
	for _, m := range maps {
		if !m.exec {
			continue
		}
		if n := len(out); n > 0 && out[n-1].end == m.start {
			out[n-1].end = m.end
			continue
		}
		out = append(out, ipRange{m.start, m.end})
	}
	return out, err
}

type mapping struct {
	start, end uint64
	exec       bool
	file       string
}

// readMaps reads /proc/PID/maps.
func readMaps(pid int) ([]mapping, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, err
	}
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// start-end perms offset dev inode [path]
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || len(f[1]) < 3 {
			continue
		}
		m := mapping{start: start, end: end, exec: f[1][2] == 'x'}
		if len(f) >= 6 {
			m.file = strings.Join(f[5:], " ")
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// auxvValue reads one entry of a process's auxiliary vector.
func auxvValue(path string, key uint64) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for i := 0; i+16 <= len(b); i += 16 {
		k, v := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		if k == key {
			return v, nil
		}
		if k == 0 {
			break
		}
	}
	return 0, nil
}
