package incoming

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tablePrefix names our tables in the pod's network namespace. Each agent
// has a table of its own, kubectl_mirror_<pid namespace>_<pid>: every
// redirect it installs lives in it, so removing it removes them all, agents
// of different users in one pod never remove each other's, and a new agent
// can tell a dead agent's table from a live one's.
const tablePrefix = "kubectl_mirror"

// newTableName names this agent's table.
func newTableName() string {
	return fmt.Sprintf("%s_%d_%d", tablePrefix, pidNamespace(), os.Getpid())
}

// pidNamespace is the inode of this process's PID namespace (0 if unknown).
func pidNamespace() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/pid", &st) != nil {
		return 0
	}
	return st.Ino
}

// tableIsStale says whether a table of ours belongs to an agent that is gone.
// Where the owner shares our PID namespace, its process tells; elsewhere (an
// agent for another container) its redirects do: a live agent's table always
// holds at least one, renewed every few seconds, while a dead agent's expire
// within redirectTTL.
func tableIsStale(c *nftables.Conn, t *nftables.Table) bool {
	var ns uint64
	var pid int
	if _, err := fmt.Sscanf(t.Name, tablePrefix+"_%d_%d", &ns, &pid); err == nil && ns != 0 && ns == pidNamespace() {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err != nil || !bytes.HasPrefix(cmdline, []byte("/mirror-agent"))
	}
	set, err := c.GetSetByName(t, "ports")
	if err != nil {
		return true
	}
	els, err := c.GetSetElements(set)
	return err == nil && len(els) == 0
}

// A redirect is an element of a map (pod port -> agent port) that expires
// unless the agent renews it: if the agent dies without cleaning up (killed,
// OOM), the pod's traffic goes back to its app within redirectTTL instead of
// to a dead port.
const (
	redirectTTL   = 10 * time.Second
	redirectRenew = 3 * time.Second
)

var errNoNetAdmin = errors.New("incoming traffic needs the NET_ADMIN capability in the agent")

// redirects keeps the agent's nftables state: a prerouting NAT chain whose
// one rule redirects TCP arriving from outside the pod to the agent port
// the map names for its destination port. Traffic the pod makes to itself
// (the agent reaching the app) does not pass prerouting.
type redirects struct {
	name  string // this agent's table
	mu    sync.Mutex
	ports map[int]int // pod port -> agent port
	table *nftables.Table
	set   *nftables.Set
	stop  chan struct{}
}

// RemoveStaleRedirects deletes the tables crashed agents left (see
// tableIsStale). Without NET_ADMIN there is nothing to do: such an agent
// could not have made one.
func RemoveStaleRedirects() {
	c, err := nftables.New()
	if err != nil {
		return
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return
	}
	for _, t := range tables {
		if strings.HasPrefix(t.Name, tablePrefix) && tableIsStale(c, t) {
			c.DelTable(t)
		}
	}
	_ = c.Flush()
}

// add redirects podPort to agentPort. Which sessions it serves is the
// port router's business (sharing.go); here is only the kernel's state.
func (r *redirects) add(podPort, agentPort int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return err
	}
	created := r.table == nil
	if created {
		r.create(c)
	}
	if old, held := r.ports[podPort]; held {
		if err := c.SetDeleteElements(r.set, []nftables.SetElement{element(podPort, old)}); err != nil {
			return err
		}
	}
	if err := c.SetAddElements(r.set, []nftables.SetElement{element(podPort, agentPort)}); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		if created {
			r.table, r.set = nil, nil
		}
		if errors.Is(err, unix.EPERM) {
			return errNoNetAdmin
		}
		return err
	}
	if r.ports == nil {
		r.ports = map[int]int{}
	}
	r.ports[podPort] = agentPort
	if r.stop == nil {
		r.stop = make(chan struct{})
		go r.renew(r.stop)
	}
	return nil
}

// create queues the table, the map and the rule.
func (r *redirects) create(c *nftables.Conn) {
	r.table = c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: r.name})
	r.set = &nftables.Set{Table: r.table, Name: "ports", IsMap: true, HasTimeout: true,
		KeyType: nftables.TypeInetService, DataType: nftables.TypeInetService}
	_ = c.AddSet(r.set, nil)                    // only fails for malformed sets, and this one is constant
	prio := *nftables.ChainPriorityNATDest - 10 // before anything else rewrites the destination
	chain := c.AddChain(&nftables.Chain{Name: "prerouting", Table: r.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: &prio})
	// Only connections addressed to this network namespace itself: in a host-network
	// pod, prerouting also sees what the node forwards to other pods on the same port.
	local := make([]byte, 4)
	binary.NativeEndian.PutUint32(local, unix.RTN_LOCAL)
	c.AddRule(&nftables.Rule{Table: r.table, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: local},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: r.set.Name, SetID: r.set.ID},
		&expr.Redir{RegisterProtoMin: 1},
	}})
}

// renew refreshes every element's timeout; deleting and adding in one
// transaction leaves no gap.
func (r *redirects) renew(stop chan struct{}) {
	t := time.NewTicker(redirectRenew)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		if c, err := nftables.New(); err == nil && r.set != nil {
			var els []nftables.SetElement
			for p, a := range r.ports {
				els = append(els, element(p, a))
			}
			_ = c.SetDeleteElements(r.set, els)
			_ = c.SetAddElements(r.set, els)
			_ = c.Flush()
		}
		r.mu.Unlock()
	}
}

// remove deletes the port's redirect to agentPort, and the table with the
// last one.
func (r *redirects) remove(podPort, agentPort int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ports[podPort] != agentPort || r.table == nil {
		return
	}
	delete(r.ports, podPort)
	c, err := nftables.New()
	if err != nil {
		return
	}
	if len(r.ports) > 0 {
		_ = c.SetDeleteElements(r.set, []nftables.SetElement{element(podPort, agentPort)})
		_ = c.Flush()
		return
	}
	c.DelTable(r.table)
	_ = c.Flush()
	r.table, r.set = nil, nil
	close(r.stop)
	r.stop = nil
}

// heldElsewhere names the live table of another agent of this pod that
// redirects podPort, if any: that agent routes the port for every session.
func (r *redirects) heldElsewhere(podPort int) string {
	c, err := nftables.New()
	if err != nil {
		return ""
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return ""
	}
	for _, t := range tables {
		if !strings.HasPrefix(t.Name, tablePrefix) || t.Name == r.name || tableIsStale(c, t) {
			continue
		}
		set, err := c.GetSetByName(t, "ports")
		if err != nil {
			continue
		}
		els, err := c.GetSetElements(set)
		if err != nil {
			continue
		}
		for _, e := range els {
			if len(e.Key) >= 2 && int(binary.BigEndian.Uint16(e.Key)) == podPort {
				return t.Name
			}
		}
	}
	return ""
}

func element(podPort, agentPort int) nftables.SetElement {
	return nftables.SetElement{Key: be16(podPort), Val: be16(agentPort), Timeout: redirectTTL}
}

func be16(v int) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, uint16(v))
	return b
}
