// Command clientgo-probe runs a fixed script of client-go calls against the cluster of a kubeconfig, in one
// namespace, and prints one JSON line per step: {"step", "error": {code, reason, message}, "result"}. The
// differential conformance suite (tests/conformance.rs) runs it against the embedded server and a real
// kube-apiserver and compares the lines after masking volatile fields.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type probe struct {
	ctx context.Context
	cs  *kubernetes.Clientset
	ns  string
	out *json.Encoder
}

func (p *probe) emit(step string, result any, err error) {
	// An empty list decodes to nil Items from protobuf and to an empty slice from JSON; both mean no items.
	if list, ok := result.(*corev1.ConfigMapList); ok && list != nil && list.Items == nil {
		list.Items = []corev1.ConfigMap{}
	}
	line := map[string]any{"step": step}
	if err != nil {
		status := apierrors.APIStatus(nil)
		if s, ok := err.(apierrors.APIStatus); ok {
			status = s
		}
		if status != nil {
			st := status.Status()
			line["error"] = map[string]any{"code": st.Code, "reason": st.Reason, "message": st.Message, "details": st.Details}
		} else {
			line["error"] = map[string]any{"message": err.Error()}
		}
	} else {
		line["result"] = result
	}
	if encodeErr := p.out.Encode(line); encodeErr != nil {
		fmt.Fprintln(os.Stderr, encodeErr)
		os.Exit(1)
	}
}

func cm(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"conf": "yes"}},
		Data:       data,
	}
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "default", "namespace to work in")
	flag.Parse()
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	config.UserAgent = "clientgo-probe"
	cs, err := kubernetes.NewForConfig(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := &probe{ctx: ctx, cs: cs, ns: *namespace, out: json.NewEncoder(os.Stdout)}
	p.writes()
	p.reads()
	p.watches()
	p.deletes()
}

func (p *probe) writes() {
	api := p.cs.CoreV1().ConfigMaps(p.ns)
	created, err := api.Create(p.ctx, cm("a", map[string]string{"k": "1"}), metav1.CreateOptions{})
	p.emit("create", created, err)
	_, err = api.Create(p.ctx, cm("a", nil), metav1.CreateOptions{})
	p.emit("create-409", nil, err)
	_, err = api.Create(p.ctx, cm("Bad_Name", nil), metav1.CreateOptions{})
	p.emit("create-422", nil, err)
	got, err := api.Get(p.ctx, "a", metav1.GetOptions{})
	p.emit("get", got, err)
	_, err = api.Get(p.ctx, "missing", metav1.GetOptions{})
	p.emit("get-404", nil, err)
	got.Data["k"] = "2"
	updated, err := api.Update(p.ctx, got, metav1.UpdateOptions{FieldManager: "probe"})
	p.emit("update", updated, err)
	_, err = api.Update(p.ctx, got, metav1.UpdateOptions{})
	p.emit("update-409", nil, err)
	merged, err := api.Patch(p.ctx, "a", types.MergePatchType, []byte(`{"data":{"m":"1"}}`), metav1.PatchOptions{})
	p.emit("patch-merge", merged, err)
	strategic, err := api.Patch(p.ctx, "a", types.StrategicMergePatchType, []byte(`{"data":{"s":"1"}}`), metav1.PatchOptions{})
	p.emit("patch-strategic", strategic, err)
	jsonPatched, err := api.Patch(p.ctx, "a", types.JSONPatchType, []byte(`[{"op":"replace","path":"/data/k","value":"3"}]`), metav1.PatchOptions{})
	p.emit("patch-json", jsonPatched, err)
	applied, err := api.Apply(p.ctx, applycorev1.ConfigMap("b", p.ns).WithLabels(map[string]string{"conf": "yes"}).WithData(map[string]string{"k": "1"}), metav1.ApplyOptions{FieldManager: "probe-a"})
	p.emit("apply", applied, err)
	_, err = api.Apply(p.ctx, applycorev1.ConfigMap("b", p.ns).WithData(map[string]string{"k": "2"}), metav1.ApplyOptions{FieldManager: "probe-b"})
	p.emit("apply-conflict", nil, err)
	forced, err := api.Apply(p.ctx, applycorev1.ConfigMap("b", p.ns).WithData(map[string]string{"k": "2"}), metav1.ApplyOptions{FieldManager: "probe-b", Force: true})
	p.emit("apply-force", forced, err)
	dry, err := api.Create(p.ctx, cm("dry", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	p.emit("create-dry-run", dry, err)
	p.status()
}

// status exercises a subresource: the Namespace's own status through client-go's UpdateStatus.
func (p *probe) status() {
	api := p.cs.CoreV1().Namespaces()
	ns, err := api.Get(p.ctx, p.ns, metav1.GetOptions{})
	p.emit("namespace-get", ns, err)
	if err != nil {
		return
	}
	_, err = api.Patch(p.ctx, p.ns, types.MergePatchType, []byte(`{"status":{"phase":"Terminating"}}`), metav1.PatchOptions{}, "status")
	p.emit("namespace-status-patch-invalid", nil, err)
}

func (p *probe) reads() {
	api := p.cs.CoreV1().ConfigMaps(p.ns)
	for _, name := range []string{"c", "d", "e"} {
		_, err := api.Create(p.ctx, cm(name, map[string]string{"n": name}), metav1.CreateOptions{})
		p.emit("create-"+name, nil, err)
	}
	list, err := api.List(p.ctx, metav1.ListOptions{LabelSelector: "conf=yes"})
	p.emit("list-label", list, err)
	list, err = api.List(p.ctx, metav1.ListOptions{FieldSelector: "metadata.name=c"})
	p.emit("list-field", list, err)
	_, err = api.List(p.ctx, metav1.ListOptions{LabelSelector: "a in (b"})
	p.emit("list-bad-label", nil, err)
	_, err = api.List(p.ctx, metav1.ListOptions{FieldSelector: "data.n=c"})
	p.emit("list-bad-field", nil, err)
	page, err := api.List(p.ctx, metav1.ListOptions{LabelSelector: "conf=yes", Limit: 2})
	p.emit("list-page-1", page, err)
	if err == nil {
		page, err = api.List(p.ctx, metav1.ListOptions{LabelSelector: "conf=yes", Limit: 2, Continue: page.Continue})
		p.emit("list-page-2", page, err)
	}
	list, err = api.List(p.ctx, metav1.ListOptions{LabelSelector: "conf=yes", ResourceVersion: "0"})
	p.emit("list-rv-0", list, err)
}

// collect reads a watch's events until it closes or `want` have come.
func collect(w watch.Interface, want int) []map[string]any {
	events := []map[string]any{}
	defer w.Stop()
	timeout := time.After(5 * time.Second)
	for len(events) < want {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return events
			}
			events = append(events, map[string]any{"type": ev.Type, "object": ev.Object})
		case <-timeout:
			return events
		}
	}
	return events
}

func (p *probe) watches() {
	api := p.cs.CoreV1().ConfigMaps(p.ns)
	start, err := api.Create(p.ctx, cm("w", map[string]string{"k": "1"}), metav1.CreateOptions{})
	p.emit("watch-setup", nil, err)
	if err != nil {
		return
	}
	_, err = api.Patch(p.ctx, "w", types.MergePatchType, []byte(`{"data":{"k":"2"}}`), metav1.PatchOptions{})
	p.emit("watch-setup-patch", nil, err)
	err = api.Delete(p.ctx, "w", metav1.DeleteOptions{})
	p.emit("watch-setup-delete", nil, err)
	w, err := api.Watch(p.ctx, metav1.ListOptions{ResourceVersion: start.ResourceVersion, FieldSelector: "metadata.name=w"})
	if err == nil {
		p.emit("watch-resume", collect(w, 2), nil)
	} else {
		p.emit("watch-resume", nil, err)
	}
	yes := true
	w, err = api.Watch(p.ctx, metav1.ListOptions{LabelSelector: "conf=yes", AllowWatchBookmarks: true, SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err == nil {
		p.emit("watch-initial-events", collect(w, 6), nil)
	} else {
		p.emit("watch-initial-events", nil, err)
	}
	w, err = api.Watch(p.ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err == nil {
		p.emit("watch-too-old", collect(w, 1), nil)
	} else {
		p.emit("watch-too-old", nil, err)
	}
}

func (p *probe) deletes() {
	api := p.cs.CoreV1().ConfigMaps(p.ns)
	wrong := types.UID("00000000-0000-0000-0000-000000000000")
	err := api.Delete(p.ctx, "a", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}})
	p.emit("delete-precondition-uid", nil, err)
	stale := "1"
	err = api.Delete(p.ctx, "a", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}})
	p.emit("delete-precondition-rv", nil, err)
	err = api.Delete(p.ctx, "a", metav1.DeleteOptions{})
	p.emit("delete", nil, err)
	err = api.Delete(p.ctx, "a", metav1.DeleteOptions{})
	p.emit("delete-404", nil, err)
	err = api.DeleteCollection(p.ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "conf=yes"})
	p.emit("delete-collection", nil, err)
	list, err := api.List(p.ctx, metav1.ListOptions{LabelSelector: "conf=yes"})
	p.emit("list-after-delete-collection", list, err)
}
