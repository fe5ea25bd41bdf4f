package notify

import (
	"context"
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// ConditionReady is the type of a Notifier's one condition.
const ConditionReady = "Ready"

// The reasons of the Ready condition.
const (
	// ReasonAccepted: the spec is valid and nothing was sent yet.
	ReasonAccepted = "Accepted"
	// ReasonDelivered: the last notification was delivered.
	ReasonDelivered = "Delivered"
	// ReasonDeliveryFailed: the last notification failed after its
	// retries; the message says why.
	ReasonDeliveryFailed = "DeliveryFailed"
	// ReasonInvalidSpec: the spec cannot be used; the message says why.
	// Nothing is sent until it is fixed.
	ReasonInvalidSpec = "InvalidSpec"
)

// maxMessage bounds a condition's message.
const maxMessage = 1024

// setReady sets the Notifier key's Ready condition, at generation gen,
// writing the status only when it changes. An Accepted condition does not
// replace one that already describes gen, unless that one says
// InvalidSpec: a Notifier whose spec did not change keeps its delivery
// outcome. Errors are logged: the status is a report, and the next
// outcome writes it again.
func (c *Controller) setReady(ctx context.Context, key types.NamespacedName, gen int64, ready bool, reason, msg string) {
	st, ok := c.cachedStatus(key)
	if !ok {
		return // deleted
	}
	cur := meta.FindStatusCondition(st.Conditions, ConditionReady)
	if reason == ReasonAccepted && cur != nil && cur.ObservedGeneration == gen && cur.Reason != ReasonInvalidSpec {
		return
	}
	switch {
	case msg == "" && reason == ReasonAccepted:
		msg = "waiting for events"
	case msg == "" && reason == ReasonDelivered:
		msg = "the last notification was delivered"
	case len(msg) > maxMessage:
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	want := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg, ObservedGeneration: gen}
	if ready {
		want.Status = metav1.ConditionTrue
	}
	if cur != nil && cur.Status == want.Status && cur.Reason == want.Reason && cur.Message == want.Message &&
		cur.ObservedGeneration == gen && st.ObservedGeneration == gen {
		return
	}
	c.mu.Lock()
	last, wrote := c.written[key]
	c.mu.Unlock()
	if wrote && last.gen == gen && last.cond.Status == want.Status && last.cond.Reason == want.Reason && last.cond.Message == want.Message {
		return // written already; the cache has not caught up
	}
	want.LastTransitionTime = metav1.NewTime(c.opts.Now())
	conds := append([]metav1.Condition(nil), st.Conditions...)
	meta.SetStatusCondition(&conds, want) // keeps the transition time when Status is unchanged
	patch, err := json.Marshal(map[string]any{"status": Status{ObservedGeneration: gen, Conditions: conds}})
	if err != nil {
		return
	}
	_, err = c.dyn.Resource(GroupVersionResource()).Namespace(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: c.opts.FieldManager}, "status")
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("notifier status not written", "notifier", key.String(), "err", err)
		}
		return
	}
	c.mu.Lock()
	c.written[key] = writtenCondition{gen: gen, cond: want}
	c.mu.Unlock()
}

// writtenCondition is the Ready condition last written for a Notifier.
type writtenCondition struct {
	gen  int64
	cond metav1.Condition
}

// cachedStatus returns the status of the Notifier key as the informer last
// saw it; ok is false when it does not exist.
func (c *Controller) cachedStatus(key types.NamespacedName) (Status, bool) {
	obj, exists, err := c.notifiers.GetIndexer().GetByKey(key.String())
	if err != nil || !exists {
		return Status{}, false
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return Status{}, false
	}
	var st Status
	if m, found, _ := unstructured.NestedMap(u.Object, "status"); found {
		b, err := json.Marshal(m)
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			return Status{}, true
		}
	}
	return st, true
}
