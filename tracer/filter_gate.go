package tracer

import (
	"slices"

	"golang.org/x/sys/unix"
)

// A launcher's filter is gated by where a call comes from: it acts only on
// calls made from the launcher's own code (the executable mappings of its
// image and libraries), and allows everything else. After an exec the new
// image lies elsewhere (ASLR), so the programs a shell runs are free of
// its filter and decide at their own exec, as when the shell was stepped.

// seccomp_data.instruction_pointer, as two 32-bit words (little endian).
const (
	seccompDataIPLo = 8
	seccompDataIPHi = 12
)

const bpfJaK = unix.BPF_JMP | unix.BPF_JA | unix.BPF_K

// ipRange is [start, end) of code addresses.
type ipRange struct{ start, end uint64 }

// gateByIP rewrites prog so that each of its non-ALLOW returns happens
// only for calls made from ranges; calls from elsewhere are allowed. The
// calls it allows by number alone stay constant per number, so the
// kernel still caches their verdict.
func gateByIP(prog []unix.SockFilter, ranges []ipRange) []unix.SockFilter {
	out := slices.Clone(prog)
	blocks := map[uint32]int{} // an action's gate, by where it starts
	var tail []unix.SockFilter
	base := len(out)
	for i, ins := range out {
		if ins.Code != bpfRetK || ins.K == unix.SECCOMP_RET_ALLOW {
			continue
		}
		at, ok := blocks[ins.K]
		if !ok {
			at = base + len(tail)
			blocks[ins.K] = at
			tail = append(tail, ipGate(ranges, ins.K)...)
		}
		out[i] = stmt(bpfJaK, uint32(at-i-1))
	}
	return append(out, tail...)
}

// ipGate returns act when the call's instruction pointer lies in one of
// ranges, ALLOW otherwise.
func ipGate(ranges []ipRange, act uint32) []unix.SockFilter {
	var g []unix.SockFilter
	for _, r := range splitAt4G(ranges) {
		hi, lo := uint32(r.start>>32), uint32(r.start)
		endLo := uint32(r.end) // 0: the range runs to the end of its 4 GiB window
		if endLo == 0 {
			g = append(g,
				stmt(bpfLdWAbs, seccompDataIPHi),
				jump(bpfJeqK, hi, 0, 3), // another window: next range
				stmt(bpfLdWAbs, seccompDataIPLo),
				jump(bpfJgeK, lo, 0, 1), // below the start: next range
				stmt(bpfRetK, act),
			)
			continue
		}
		g = append(g,
			stmt(bpfLdWAbs, seccompDataIPHi),
			jump(bpfJeqK, hi, 0, 4),
			stmt(bpfLdWAbs, seccompDataIPLo),
			jump(bpfJgeK, lo, 0, 2),
			jump(bpfJgeK, endLo, 1, 0), // at or past the end: next range
			stmt(bpfRetK, act),
		)
	}
	return append(g, stmt(bpfRetK, unix.SECCOMP_RET_ALLOW))
}

// splitAt4G cuts ranges at 4 GiB boundaries, so each one's addresses share
// their high word.
func splitAt4G(ranges []ipRange) []ipRange {
	var out []ipRange
	for _, r := range ranges {
		for r.start < r.end {
			next := (r.start>>32 + 1) << 32
			if next == 0 || next > r.end { // the last window, or the range ends in this one
				next = r.end
			}
			out = append(out, ipRange{r.start, next})
			r.start = next
		}
	}
	return out
}

// ipIn reports whether the gate built from ranges lets ip's calls through
// to their action (what the kernel computes; for tests and the stepped path).
func ipIn(ranges []ipRange, ip uint64) bool {
	for _, r := range ranges {
		if ip >= r.start && ip < r.end {
			return true
		}
	}
	return false
}
