package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// clusterStore writes the cluster Secrets `gyre cluster add` and `rm` ask
// for, in gyre's namespace, and waits until the registry has read them.
type clusterStore struct {
	secrets  typedcorev1.SecretInterface
	ns       string
	registry *cluster.Registry
}

var _ web.ClusterStore = (*clusterStore)(nil)

// clusterSecretWait bounds the wait for the registry to see a write.
const clusterSecretWait = 10 * time.Second

// clusterSecretName is the Secret a cluster called name is kept in:
// "cluster-<name>" when that is a valid name, else one made from a hash.
func clusterSecretName(name string) string {
	n := "cluster-" + strings.ToLower(name)
	if len(validation.IsDNS1123Subdomain(n)) == 0 && len(n) <= 63 {
		return n
	}
	sum := sha256.Sum256([]byte(name))
	return "cluster-" + hex.EncodeToString(sum[:8])
}

// PutCluster writes req as a cluster Secret after checking that it reads
// as one.
func (s *clusterStore) PutCluster(ctx context.Context, req web.ClusterRequest) (string, bool, error) {
	labels := map[string]string{}
	for k, v := range req.Labels {
		if k == cluster.LabelSecretType || k == cluster.ArgoLabelSecretType {
			return "", false, badRequest(fmt.Errorf("label %s is gyre's to set", k))
		}
		labels[k] = v
	}
	labels[cluster.LabelSecretType] = cluster.SecretTypeCluster
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: clusterSecretName(req.Name), Namespace: s.ns, Labels: labels},
		Data: map[string][]byte{
			cluster.KeyName:   []byte(req.Name),
			cluster.KeyServer: []byte(req.Server),
			cluster.KeyConfig: req.Config,
		},
	}
	if len(req.Namespaces) > 0 {
		sec.Data[cluster.KeyNamespaces] = []byte(strings.Join(req.Namespaces, ","))
		sec.Data[cluster.KeyClusterResources] = []byte(strconv.FormatBool(req.ClusterResources))
	}
	if req.Project != "" {
		sec.Data[cluster.KeyProject] = []byte(req.Project)
	}
	c, err := cluster.FromSecret(sec)
	if err != nil {
		return "", false, badRequest(err)
	}
	if c.InCluster() {
		return "", false, badRequest(fmt.Errorf("server %s is the cluster gyre runs in, which needs no Secret", c.Server))
	}
	for _, known := range s.registry.List() {
		if known.Secret.Name == sec.Name || (known.Name != req.Name && known.Server != c.Server) {
			continue
		}
		if known.Secret.Name == "" {
			return "", false, badRequest(fmt.Errorf("the name %s is the cluster gyre runs in's; choose another", known.Name))
		}
		if !req.Upsert {
			return "", false, fmt.Errorf("cluster %s (server %s) is registered already by Secret %q; pass --upsert to replace it: %w", known.Name, known.Server, known.Secret.Name, web.ErrAlreadyExists)
		}
		if err := s.secrets.Delete(ctx, known.Secret.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return "", false, err
		}
	}
	reloaded := s.registry.Reloaded()
	created := false
	written, err := s.secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: "gyre"})
	switch {
	case apierrors.IsAlreadyExists(err) && !req.Upsert:
		return "", false, fmt.Errorf("cluster Secret %s exists already; pass --upsert to replace it: %w", sec.Name, web.ErrAlreadyExists)
	case apierrors.IsAlreadyExists(err):
		cur, gerr := s.secrets.Get(ctx, sec.Name, metav1.GetOptions{})
		if gerr != nil {
			return "", false, gerr
		}
		sec.ResourceVersion = cur.ResourceVersion
		written, err = s.secrets.Update(ctx, sec, metav1.UpdateOptions{FieldManager: "gyre"})
	case err == nil:
		created = true
	}
	if err != nil {
		return "", false, err
	}
	s.waitRead(ctx, reloaded, func() bool {
		got, ok := s.registry.Get(c.Server)
		return ok && got.Version == written.ResourceVersion
	})
	return sec.Name, created, nil
}

// DeleteCluster deletes every cluster Secret of the cluster called name.
func (s *clusterStore) DeleteCluster(ctx context.Context, name string) ([]string, error) {
	var secrets []string
	for _, c := range s.registry.List() {
		if c.Name != name {
			continue
		}
		if c.Secret.Name == "" {
			return nil, badRequest(errors.New("the cluster gyre runs in has no Secret and cannot be removed"))
		}
		secrets = append(secrets, c.Secret.Name)
	}
	for secretName, err := range s.registry.Invalid() {
		// A Secret that does not parse as a cluster may still be named so.
		if sec, gerr := s.secrets.Get(ctx, secretName, metav1.GetOptions{}); gerr == nil && string(sec.Data[cluster.KeyName]) == name && err != nil {
			secrets = append(secrets, secretName)
		}
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("no cluster is named %q: %w", name, web.ErrNotFound)
	}
	slices.Sort(secrets)
	reloaded := s.registry.Reloaded()
	for _, n := range secrets {
		if err := s.secrets.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	s.waitRead(ctx, reloaded, func() bool {
		return !slices.ContainsFunc(s.registry.List(), func(c *cluster.Cluster) bool { return c.Name == name && c.Secret.Name != "" })
	})
	return secrets, nil
}

// waitRead waits, within clusterSecretWait, until done holds, looking
// again at each registry reload from the one that reloaded announces.
func (s *clusterStore) waitRead(ctx context.Context, reloaded <-chan struct{}, done func() bool) {
	timeout := time.NewTimer(clusterSecretWait)
	defer timeout.Stop()
	for !done() {
		select {
		case <-reloaded:
			reloaded = s.registry.Reloaded()
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// badRequest marks err as the caller's.
func badRequest(err error) error { return classified{err, web.ErrBadRequest} }
