package kube

import (
	"context"
	"slices"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"
)

// NamesOf lists, for shell completion, the names of the objects of a kind
// as kubectl takes it (deploy, pods, namespaces, ...) that start with
// prefix, in namespace ("" for the kubeconfig's), through cli-runtime's
// resource builder: the same discovery and short names as kubectl.
func NamesOf(getter genericclioptions.RESTClientGetter, namespace, kind, prefix string) []string {
	namespace = orDefault(getter, namespace)
	infos, err := resource.NewBuilder(getter).Unstructured().
		NamespaceParam(namespace).DefaultNamespace().
		ResourceTypeOrNameArgs(true, kind).
		Flatten().Do().Infos()
	if err != nil {
		return nil
	}
	var names []string
	for _, info := range infos {
		if strings.HasPrefix(info.Name, prefix) {
			names = append(names, info.Name)
		}
	}
	slices.Sort(names)
	return names
}

// ContainersOf lists, for shell completion, the containers of the pod a
// target (KIND/NAME or KIND NAME) runs against, starting with prefix.
func ContainersOf(ctx context.Context, getter genericclioptions.RESTClientGetter, namespace string, target []string, prefix string) []string {
	namespace = orDefault(getter, namespace)
	obj, ref, err := FindObject(getter, namespace, target)
	if err != nil {
		return nil
	}
	pod, sel, err := PodSelector(obj)
	if err != nil {
		return nil
	}
	if pod == nil {
		cfg, err := getter.ToRESTConfig()
		if err != nil {
			return nil
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil
		}
		if pod, err = PickReadyPod(ctx, cs, namespace, sel, ref); err != nil {
			return nil
		}
	}
	var names []string
	for _, c := range pod.Spec.Containers {
		if strings.HasPrefix(c.Name, prefix) {
			names = append(names, c.Name)
		}
	}
	return names
}

// orDefault is namespace, or the kubeconfig context's when it is "".
func orDefault(getter genericclioptions.RESTClientGetter, namespace string) string {
	if namespace != "" {
		return namespace
	}
	ns, _, err := getter.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "default"
	}
	return ns
}
