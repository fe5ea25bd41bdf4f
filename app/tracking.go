package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Annotation and label names gyre writes on every object it applies.
const (
	// TrackingAnnotation holds the tracking id: the owning Application and the
	// object's own identity (see TrackingID).
	TrackingAnnotation = "gyre.dev/tracking-id"
	// AppLabel holds AppLabelValue of the owning Application, so watches can
	// select an app's objects by label.
	AppLabel = "gyre.dev/app"
)

// TrackingID returns the value of TrackingAnnotation for an object with key k
// applied by the Application appNamespace/appName:
// "<app-namespace>/<app-name>:<group>/<kind>:<namespace>/<name>".
func TrackingID(appNamespace, appName string, k ResourceKey) string {
	return fmt.Sprintf("%s/%s:%s/%s:%s/%s", appNamespace, appName, k.Group, k.Kind, k.Namespace, k.Name)
}

// ParseTrackingID splits a tracking id into the owning Application's
// namespace and name and the object's key. ok is false for malformed ids.
func ParseTrackingID(id string) (appNamespace, appName string, k ResourceKey, ok bool) {
	parts := strings.SplitN(id, ":", 3)
	if len(parts) != 3 {
		return "", "", ResourceKey{}, false
	}
	appNamespace, appName, ok1 := strings.Cut(parts[0], "/")
	group, kind, ok2 := strings.Cut(parts[1], "/")
	ns, name, ok3 := strings.Cut(parts[2], "/")
	if !ok1 || !ok2 || !ok3 || appName == "" || kind == "" || name == "" {
		return "", "", ResourceKey{}, false
	}
	return appNamespace, appName, ResourceKey{Group: group, Kind: kind, Namespace: ns, Name: name}, true
}

// AppLabelValue returns the value of AppLabel for an Application. Label
// values are limited to 63 characters of [A-Za-z0-9._-], so the value is
// "<namespace>.<name>" when that fits and otherwise a readable prefix plus a
// hash; it is only used to select, the tracking id remains the proof of
// ownership.
func AppLabelValue(appNamespace, appName string) string {
	v := appNamespace + "." + appName
	if len(v) <= 63 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	h := hex.EncodeToString(sum[:])[:16]
	return strings.TrimRight(v[:63-17], ".-_") + "-" + h
}
