package localcluster

import (
	"runtime/debug"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// fallbackKubeVersion is the Kubernetes release gyre is built against, used
// when the build carries no module information.
const fallbackKubeVersion = "v1.37.2"

// dynamicGitVersion is the version that k8s.io/component-base/version.Get
// reports. A release build of kube-apiserver sets it with -ldflags; gyre sets
// it at start from the version of k8s.io/kubernetes it was built with, so the
// server reports its real version whatever the build command was.
//
//go:linkname dynamicGitVersion k8s.io/component-base/version.dynamicGitVersion
var dynamicGitVersion atomic.Value

// KubeVersion returns the version of the embedded Kubernetes control plane.
func KubeVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "k8s.io/kubernetes" && m.Version != "" && m.Version != "(devel)" {
				return m.Version
			}
		}
	}
	return fallbackKubeVersion
}

func setServerVersion() {
	dynamicGitVersion.Store(KubeVersion())
}
