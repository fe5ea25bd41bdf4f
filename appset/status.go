package appset

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// maxConditionMessage bounds a condition's message.
const maxConditionMessage = 4096

// status builds the status an evaluation calls for. prev supplies the
// transition times of conditions whose status did not change.
func (ev evaluation) status(prev Status, now metav1.Time) Status {
	var problems []string
	if ev.err != nil {
		problems = append(problems, ev.err.Error())
	}
	for _, d := range ev.dups {
		problems = append(problems, fmt.Sprintf("the generators yield the name %q more than once; only the first is written", d))
	}
	var notUpToDate []string
	st := Status{}
	for _, s := range ev.steps {
		msg := s.Message
		if err := ev.failed[s.Name]; err != nil {
			problems = append(problems, err.Error())
			msg = err.Error()
		}
		switch s.Action {
		case ActionConflict:
			problems = append(problems, s.Message)
			continue
		case ActionDelete:
			if ev.failed[s.Name] == nil {
				continue
			}
		case ActionKeep:
			if s.Desired != nil {
				notUpToDate = append(notUpToDate, s.Name)
			}
		}
		rs := ResourceStatus{Name: s.Name, Namespace: nsOf(s), Message: truncate(msg, 512)}
		if s.Live != nil {
			rs.Health, rs.Sync = s.Live.Status.Health.Status, s.Live.Status.Sync.Status
		}
		st.Resources = append(st.Resources, rs)
	}
	errStatus, errMsg := "False", "no error"
	if len(problems) > 0 {
		errStatus, errMsg = "True", strings.Join(problems, "; ")
	}
	genStatus, genMsg := "True", "the generators produced their parameters"
	if !ev.generated {
		genStatus, genMsg = "False", errMsg
	}
	upStatus, upMsg := "True", "every generated Application is as the template says"
	switch {
	case len(problems) > 0:
		upStatus, upMsg = "False", errMsg
	case len(notUpToDate) > 0:
		upStatus, upMsg = "False", "kept as they are by the policy: "+strings.Join(notUpToDate, ", ")
	}
	st.Conditions = []Condition{
		condition(prev, ConditionErrorOccurred, errStatus, reasonOf(ev, errStatus), errMsg, now),
		condition(prev, ConditionParametersGenerated, genStatus, map[bool]string{true: "ParametersGenerated", false: "ErrorOccurred"}[ev.generated], genMsg, now),
		condition(prev, ConditionResourcesUpToDate, upStatus, map[bool]string{true: "ApplicationSetUpToDate", false: "ApplicationSetNotUpToDate"}[upStatus == "True"], upMsg, now),
	}
	return st
}

func nsOf(s Step) string {
	if s.Live != nil {
		return s.Live.Namespace
	}
	return s.Desired.Namespace
}

// reasonOf names the kind of error, for the ErrorOccurred condition.
func reasonOf(ev evaluation, status string) string {
	switch {
	case status == "False":
		return "NoError"
	case ev.err != nil && !ev.generated:
		return "GeneratorError"
	case ev.err != nil:
		return "TemplateError"
	case len(ev.failed) > 0:
		return "WriteError"
	}
	return "ApplicationConflict"
}

// condition builds a condition, keeping prev's transition time when its
// status is the same.
func condition(prev Status, t ConditionType, status, reason, msg string, now metav1.Time) Condition {
	c := Condition{Type: t, Status: status, Reason: reason, Message: truncate(msg, maxConditionMessage), LastTransitionTime: &now}
	for _, p := range prev.Conditions {
		if p.Type == t && p.Status == status && p.LastTransitionTime != nil {
			c.LastTransitionTime = p.LastTransitionTime
		}
	}
	return c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// writeStatus writes ev's status through the status subresource, only
// when it differs from the set's.
func (c *Controller) writeStatus(ctx context.Context, u *unstructured.Unstructured, ev evaluation) error {
	var prev Status
	if raw, ok := u.Object["status"]; ok {
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &prev)
	}
	now := metav1.NewTime(c.opts.Now().UTC().Truncate(1e9))
	next := ev.status(prev, now)
	if sameStatus(prev, next) {
		return nil
	}
	m, err := toMap(next)
	if err != nil {
		return err
	}
	obj := u.DeepCopy()
	obj.Object["status"] = m
	_, err = c.dyn.Resource(GroupVersionResource()).Namespace(u.GetNamespace()).UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: c.opts.FieldManager})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version is queued already, or the set is gone
	}
	if err != nil {
		return fmt.Errorf("ApplicationSet %s/%s: write status: %w", u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// sameStatus compares two statuses, ignoring transition times' encoding.
func sameStatus(a, b Status) bool {
	strip := func(s Status) Status {
		s.Conditions = slices.Clone(s.Conditions)
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = nil
		}
		if len(s.Resources) == 0 {
			s.Resources = nil
		}
		return s
	}
	return reflect.DeepEqual(strip(a), strip(b))
}
