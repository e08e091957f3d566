package agent

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tableName is ours in the pod's network namespace: every redirect the agent
// installs lives in it, so removing it removes them all.
const tableName = "kubectl_mirror"

// redirects keeps one nftables rule per pod port: TCP to that port arriving
// from outside the pod (prerouting) goes to the agent's listener instead.
// Traffic the pod makes to itself (the agent reaching the app) is untouched.
type redirects struct {
	mu    sync.Mutex
	rules map[int]*nftables.Rule
	table *nftables.Table
	chain *nftables.Chain
}

var errNoNetAdmin = errors.New("incoming traffic needs the NET_ADMIN capability in the agent")

// removeStaleRedirects deletes the table a crashed agent may have left, so a
// pod never keeps sending traffic to a dead port. Without NET_ADMIN there is
// nothing to do: such an agent could not have made it.
func removeStaleRedirects() {
	c, err := nftables.New()
	if err != nil {
		return
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: tableName})
	_ = c.Flush()
}

func (r *redirects) add(podPort, agentPort int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return err
	}
	if r.table == nil {
		r.table = c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: tableName})
		prio := *nftables.ChainPriorityNATDest - 10 // before anything else rewrites the destination
		r.chain = c.AddChain(&nftables.Chain{Name: "prerouting", Table: r.table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: &prio})
		r.rules = map[int]*nftables.Rule{}
	}
	rule := c.AddRule(&nftables.Rule{Table: r.table, Chain: r.chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(podPort)},
		&expr.Immediate{Register: 1, Data: be16(agentPort)},
		&expr.Redir{RegisterProtoMin: 1},
	}})
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.EPERM) {
			return errNoNetAdmin
		}
		return err
	}
	r.rules[podPort] = rule
	return nil
}

// remove deletes the port's redirect, and the table with the last one.
func (r *redirects) remove(podPort int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.rules[podPort]; !ok {
		return
	}
	delete(r.rules, podPort)
	c, err := nftables.New()
	if err != nil {
		return
	}
	if len(r.rules) == 0 {
		c.DelTable(r.table)
		r.table, r.chain = nil, nil
		_ = c.Flush()
		return
	}
	// Rebuild the chain with the remaining ports: simpler than rule handles.
	c.FlushChain(r.chain)
	for port, rule := range r.rules {
		r.rules[port] = c.AddRule(&nftables.Rule{Table: r.table, Chain: r.chain, Exprs: rule.Exprs})
	}
	_ = c.Flush()
}

func be16(v int) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, uint16(v))
	return b
}
