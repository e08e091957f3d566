package run

import (
	"context"
	"crypto/ed25519"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// answerWait bounds the API call behind one answer: the agent waits 5 s.
const answerWait = 4 * time.Second

// claimAnswerer answers the questions the agent in namespace/pod asks on
// incoming claims, from the pod as the API server has it now.
func claimAnswerer(ctx context.Context, cs kubernetes.Interface, namespace, pod string, key ed25519.PrivateKey) func(protocol.Ask) protocol.Answer {
	return func(a protocol.Ask) protocol.Answer {
		actx, cancel := context.WithTimeout(ctx, answerWait)
		defer cancel()
		p, err := cs.CoreV1().Pods(namespace).Get(actx, pod, metav1.GetOptions{})
		if err != nil {
			return protocol.Answer{Error: "read the pod: " + err.Error()}
		}
		switch {
		case a.Sign != nil:
			// The pod's UID comes from the API, not from the agent: a
			// signature is good in this pod only.
			return protocol.SignClaim(key, string(p.UID), *a.Sign)
		case a.Vouch != "":
			return protocol.Answer{Agent: kube.AgentForKey(p, a.Vouch)}
		}
		return protocol.Answer{Error: "unknown question"}
	}
}
