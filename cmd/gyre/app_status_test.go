package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

// TestAppGetTruncatedStatus: when the status lists only some of the
// objects, `gyre app get` says how many there are and lists them all from
// the API; when the API cannot give them, it says the table is partial.
func TestAppGetTruncatedStatus(t *testing.T) {
	f := newFakeAPI(t)
	a := testApp("gyre", "big")
	var all []app.ResourceStatus
	for i := range 600 {
		r := app.ResourceStatus{Kind: "ConfigMap", Namespace: "demo-big", Name: fmt.Sprintf("cm-%04d", i), Status: app.Synced}
		if i == 17 || i == 433 {
			r.Status = app.OutOfSync
		}
		all = append(all, r)
	}
	a.Status.SetResources(all, app.StatusLimits{Objects: 5})
	f.add(a)
	f.resources["gyre/big"] = all

	r := runCLI(t, nil, f.against("app", "get", "big")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Objects:          600 (598 Synced, 2 OutOfSync); status.resources lists 5 of them",
		"ConfigMap  demo-big   cm-0433  OutOfSync",
		"ConfigMap  demo-big   cm-0599  Synced", // not in the status's list
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%.2000s", want, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "ConfigMap  demo-big"); n != 600 || strings.Contains(r.stdout, "Partly") {
		t.Errorf("table has %d objects, want all 600 and no note of a partial list", n)
	}

	f.fail["GET /api/v1/applications/gyre/big/resources"] = fakeFailure{http.StatusInternalServerError, `{"error":"render failed"}`}
	r = runCLI(t, nil, f.against("app", "get", "big")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stdout, "ConfigMap  demo-big"); n != 5 || !strings.Contains(r.stdout, "Partly listed: 5 of the 600 objects") || !strings.Contains(r.stdout, "render failed") {
		t.Errorf("with the API failing: %d objects listed, output:\n%s", n, r.stdout)
	}
}

// TestAppSyncPrintsTheCompleteChangeSet: a sync whose change set the
// status holds only part of prints every object, read from the API, or
// says the table is partial.
func TestAppSyncPrintsTheCompleteChangeSet(t *testing.T) {
	for _, complete := range []bool{true, false} {
		t.Run(fmt.Sprint("api has it: ", complete), func(t *testing.T) {
			f := newFakeAPI(t)
			before := testApp("gyre", "guestbook")
			f.add(before)
			states := operationStates(before, app.OperationSucceeded, "synced feed", false, guestbookChanges()...)
			last := states[len(states)-1].Status.OperationState
			if complete {
				f.operations["gyre/guestbook"] = last.DeepCopy()
			}
			last.SyncResult = last.SyncResult.Bounded(app.StatusLimits{Objects: 1})
			f.then("POST /api/v1/applications/gyre/guestbook/sync", states...)

			r := runCLI(t, nil, f.against("app", "sync", "guestbook")...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s\n%s", r.code, r.stderr, r.stdout)
			}
			table := r.stdout[strings.Index(r.stdout, "KIND"):]
			rows := strings.Count(table, "demo-guestbook")
			note := strings.Contains(table, "Listed: 1 of the 3 objects")
			if complete && (rows != 3 || note) || !complete && (rows != 1 || !note) {
				t.Errorf("complete change set served: %v; table of %d rows, note %v:\n%s", complete, rows, note, table)
			}
		})
	}
}
