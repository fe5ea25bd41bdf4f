package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
)

// repoCredentials is the git cache's CredentialSource under `gyre serve`
// and `gyre up`: the Secrets in gyre's own namespace that gyre's or Argo
// CD's secret-type label marks as repository or repo-creds. One informer
// per label watches only those Secrets, never the others. Every change
// builds a new source.SecretCredentials and swaps it in, so the next git
// request presents the new credentials; onChange then hears which
// credentials moved, to re-queue the Applications they serve.
type repoCredentials struct {
	namespace string
	secrets   typedcorev1.SecretInterface
	log       *slog.Logger
	informers []cache.SharedIndexInformer // one per source.SecretLabels

	current atomic.Pointer[source.SecretCredentials]

	mu       sync.Mutex // serialises reloads, guards the fields below
	onChange func(old, cur *source.SecretCredentials)
	lastErr  string        // the last complaint logged, not to repeat it
	reloaded chan struct{} // closed and replaced on every reload
}

var _ source.CredentialSource = (*repoCredentials)(nil)

// repoSecretSelector selects the Secrets that label marks as credentials.
func repoSecretSelector(label string) string {
	return fmt.Sprintf("%s in (%s,%s)", label, source.SecretTypeRepository, source.SecretTypeRepoCreds)
}

// watchRepoCredentials starts watching the credentials Secrets in
// namespace until ctx ends and returns once it holds them. When gyre may
// not list Secrets there, it logs why and returns at once: repositories are
// then read anonymously until the permission is granted and the watch,
// which keeps trying, catches up.
func watchRepoCredentials(ctx context.Context, client kubernetes.Interface, namespace string, log *slog.Logger) (*repoCredentials, error) {
	c := &repoCredentials{
		namespace: namespace,
		secrets:   client.CoreV1().Secrets(namespace),
		log:       log.With("namespace", namespace),
		reloaded:  make(chan struct{}),
	}
	c.current.Store(&source.SecretCredentials{})
	reload := func(any) { c.reload() }
	for _, label := range source.SecretLabels() {
		sel := repoSecretSelector(label)
		inf := cache.NewSharedIndexInformerWithOptions(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.LabelSelector = sel
				return c.secrets.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = sel
				return c.secrets.Watch(ctx, o)
			},
		}, &corev1.Secret{}, cache.SharedIndexInformerOptions{})
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    reload,
			UpdateFunc: func(_, obj any) { reload(obj) },
			DeleteFunc: reload,
		}); err != nil {
			return nil, err
		}
		c.informers = append(c.informers, inf)
	}
	for _, inf := range c.informers {
		go inf.RunWithContext(ctx)
	}

	// An informer that may not list retries quietly for ever; ask once, to
	// say so instead of waiting.
	probe, cancel := context.WithTimeout(ctx, secretWatchTimeout)
	defer cancel()
	if _, err := c.secrets.List(probe, metav1.ListOptions{LabelSelector: repoSecretSelector(source.LabelSecretType), Limit: 1}); err != nil {
		log.Warn("cannot read repository credentials: private repositories fail until gyre may get, list and watch Secrets in its namespace", "namespace", namespace, "err", err)
		return c, nil
	}
	synced := make([]cache.InformerSynced, len(c.informers))
	for i, inf := range c.informers {
		synced[i] = inf.HasSynced
	}
	if !cache.WaitForCacheSync(probe.Done(), synced...) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("repository credentials in namespace %s: cannot watch them within %s", namespace, secretWatchTimeout)
	}
	c.reload()
	return c, nil
}

// Credentials returns the git credentials for repoURL.
func (c *repoCredentials) Credentials(repoURL string) (source.Credentials, error) {
	return c.current.Load().Credentials(repoURL)
}

// lookup returns the credentials of a Secret of type typ for repoURL, or
// none: what the chart cache asks for Helm repositories and OCI registries.
func (c *repoCredentials) lookup(typ source.RepoType, repoURL string) (source.Credentials, error) {
	cs, ok, err := c.current.Load().Lookup(typ, repoURL)
	if err != nil || !ok {
		return source.Credentials{}, err
	}
	return cs.Credentials, nil
}

// setOnChange sets what hears of each change; it replaces any before.
func (c *repoCredentials) setOnChange(fn func(old, cur *source.SecretCredentials)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = fn
}

// list returns the Secrets the informers hold, each once (a Secret may
// carry both labels), by namespace/name.
func (c *repoCredentials) list() []corev1.Secret {
	seen := map[types.UID]bool{}
	var out []corev1.Secret
	for _, inf := range c.informers {
		for _, obj := range inf.GetStore().List() {
			s, ok := obj.(*corev1.Secret)
			if !ok || seen[s.UID] {
				continue
			}
			seen[s.UID] = true
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// synced reports whether every informer has listed once.
func (c *repoCredentials) synced() bool {
	for _, inf := range c.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// reload rebuilds the credentials from the informers' Secrets, swaps them
// in and tells onChange. Secrets that cannot be used are logged, by name
// and key, never with a value.
func (c *repoCredentials) reload() {
	c.mu.Lock()
	defer c.mu.Unlock()
	set, err := source.CredentialsFromSecrets(c.list())
	if err != nil {
		if msg := err.Error(); msg != c.lastErr {
			c.lastErr = msg
			c.log.Warn("repository credentials: Secrets left out", "err", err)
		}
	} else {
		c.lastErr = ""
	}
	old := c.current.Swap(set)
	if c.onChange != nil {
		c.onChange(old, set)
	}
	close(c.reloaded)
	c.reloaded = make(chan struct{})
}

// waitFor waits until the informers agree with done, or until timeout;
// it reports whether they did. Writes through the API wait so, so that the
// credentials a `gyre repo add` stored apply once it returns.
func (c *repoCredentials) waitFor(ctx context.Context, timeout time.Duration, done func([]corev1.Secret) bool) bool {
	if !c.synced() {
		return false // the watch cannot list: nothing to wait for
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		next := c.reloaded
		c.mu.Unlock()
		if done(c.list()) {
			return true
		}
		select {
		case <-next:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// refreshChanged re-queues, through r, every Application whose
// repository's credentials differ between old and cur, and drops those
// repositories' ref listings: so one that was refused is tried again with
// the new credentials at once, not after a backoff or a poll interval.
func refreshChanged(r *gyresync.Reconciler, src *source.Cache, old, cur *source.SecretCredentials, log *slog.Logger) {
	seen := map[string]bool{}
	var moved []string
	check := func(typ source.RepoType, repoURL string) {
		key, err := source.NormalizeURL(repoURL)
		if err != nil || seen[string(typ)+" "+key] {
			return
		}
		seen[string(typ)+" "+key] = true
		before, _, _ := old.Lookup(typ, key)
		after, _, _ := cur.Lookup(typ, key)
		if before.Credentials.Equal(after.Credentials) {
			return
		}
		moved = append(moved, key)
		r.RefreshRepository(repoURL, "")
	}
	for _, st := range src.Statuses() {
		check(source.RepoTypeGit, st.URL)
	}
	for _, a := range r.Applications() {
		for _, s := range a.Spec.SourceList() {
			switch {
			case helmrepo.IsOCI(s.RepoURL):
				check(source.RepoTypeOCI, s.RepoURL)
			case s.IsChart():
				check(source.RepoTypeHelm, s.RepoURL)
			default:
				check(source.RepoTypeGit, s.RepoURL)
			}
		}
	}
	if len(moved) > 0 {
		log.Info("repository credentials changed", "repos", moved)
	}
}

// repoStore serves the /api/v1/repositories routes: it reads the
// credentials Secrets from the informers, writes them through the API
// server, and joins what the git cache (for Secrets of type git) and the
// chart cache (helm and oci) last heard from each repository.
type repoStore struct {
	creds  *repoCredentials
	src    *source.Cache
	charts *helmrepo.Cache // nil: no chart repository is shown
}

var _ web.Repositories = (*repoStore)(nil)

// repoWriteWait bounds how long a write waits for the watch to see it.
const repoWriteWait = 10 * time.Second

// ListRepositories returns every credentials Secret, what gyre makes of
// it, and the repositories in the git and chart caches that use it.
func (s *repoStore) ListRepositories(context.Context) ([]web.Repository, error) {
	if !s.creds.synced() {
		return nil, fmt.Errorf("repository credentials in namespace %s: not read yet (gyre needs get, list and watch on secrets there)", s.creds.namespace)
	}
	active := s.creds.current.Load()
	inUse := map[string]bool{}
	for _, cs := range active.Secrets() {
		inUse[cs.Namespace+"/"+cs.Name] = true
	}
	var out []web.Repository
	index := map[string]int{}
	for _, sec := range s.creds.list() {
		cs, ok, err := source.ParseCredentialSecret(&sec)
		if !ok {
			continue
		}
		v := repositoryView(cs)
		switch {
		case err != nil:
			v.Invalid = err.Error()
		case !inUse[v.Secret]:
			v.Invalid = "another Secret declares the same url, kind and type, and wins (the first by namespace/name)"
		}
		index[v.Secret] = len(out)
		out = append(out, v)
	}
	join := func(typ source.RepoType, st source.RepositoryStatus) {
		cs, ok, _ := active.Lookup(typ, st.URL)
		if !ok {
			return
		}
		if i, ok := index[cs.Namespace+"/"+cs.Name]; ok {
			out[i].Repositories = append(out[i].Repositories, repositoryState(st))
		}
	}
	for _, st := range s.src.Statuses() {
		join(source.RepoTypeGit, st)
	}
	if s.charts != nil {
		for _, st := range s.charts.Statuses() {
			typ := source.RepoTypeHelm
			if helmrepo.IsOCI(st.URL) {
				typ = source.RepoTypeOCI
			}
			join(typ, st)
		}
	}
	return out, nil
}

// repositoryView describes cs without a secret value.
func repositoryView(cs source.CredentialSecret) web.Repository {
	c := cs.Credentials
	return web.Repository{
		URL: cs.URL, Kind: cs.Kind, Type: cs.Type, Secret: cs.Namespace + "/" + cs.Name, Label: cs.Label,
		Auth: c.Auth(), Username: c.Username,
		CAData: len(c.CAData) > 0, KnownHosts: len(c.KnownHosts) > 0,
		InsecureIgnoreHostKey: c.InsecureIgnoreHostKey, InsecureSkipVerify: c.InsecureSkipVerify,
		Repositories: []web.RepositoryState{},
	}
}

// repositoryState is st as the API shows it.
func repositoryState(st source.RepositoryStatus) web.RepositoryState {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	out := web.RepositoryState{URL: st.URL, Reachable: st.Reachable(), CheckedAt: at(st.CheckedAt), ListedAt: at(st.ListedAt), FetchedAt: at(st.FetchedAt)}
	if st.Err != nil {
		out.Error = st.Err.Error()
	}
	return out
}

// secretData is the data of the Secret that holds req.
func secretData(req web.RepositoryRequest) map[string][]byte {
	data := map[string][]byte{
		source.SecretKeyURL:  []byte(req.URL),
		source.SecretKeyType: []byte(req.Type),
	}
	set := func(key, v string) {
		if v != "" {
			data[key] = []byte(v)
		}
	}
	set(source.SecretKeyUsername, req.Username)
	set(source.SecretKeyPassword, req.Password)
	set(source.SecretKeySSHPrivateKey, req.SSHPrivateKey)
	set(source.SecretKeyKnownHosts, req.KnownHosts)
	set(source.SecretKeyCAData, req.CAData)
	if req.InsecureIgnoreHostKey {
		data[source.SecretKeyInsecureIgnoreHostKey] = []byte("true")
	}
	if req.InsecureSkipVerify {
		data[source.SecretKeyInsecureSkipVerify] = []byte("true")
	}
	return data
}

// secretName is the name of the Secret gyre creates for kind, type and
// normalised url: Argo CD's prefixes and a hash, so that one request made
// twice finds the same Secret.
func secretName(kind source.SecretType, typ source.RepoType, key string) string {
	sum := sha256.Sum256([]byte(string(kind) + " " + string(typ) + " " + key))
	prefix := "repo-"
	if kind == source.SecretTypeRepoCreds {
		prefix = "creds-"
	}
	return prefix + hex.EncodeToString(sum[:8])
}

// matching returns the credentials Secrets of kind and type (any, when
// empty) whose url normalises to key, readable or not.
func (s *repoStore) matching(key string, kind source.SecretType, typ source.RepoType) []source.CredentialSecret {
	var out []source.CredentialSecret
	for _, sec := range s.creds.list() {
		cs, ok, _ := source.ParseCredentialSecret(&sec)
		if ok && cs.Key == key && cs.Kind == kind && (typ == "" || cs.Type == typ) {
			out = append(out, cs)
		}
	}
	return out
}

// PutRepository writes the Secret for req: it replaces the data of the
// Secret of the same url, kind and type when there is one, else creates a
// Secret labelled gyre.dev/secret-type. It returns once the watch has seen
// the write, so the credentials apply to the next git request.
func (s *repoStore) PutRepository(ctx context.Context, req web.RepositoryRequest) (web.Repository, bool, error) {
	key, err := source.NormalizeURL(req.URL)
	if err != nil {
		return web.Repository{}, false, classified{fmt.Errorf("url: %w", err), web.ErrBadRequest}
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.creds.namespace,
			Name:      secretName(req.Kind, req.Type, key),
			Labels: map[string]string{
				source.LabelSecretType:         string(req.Kind),
				"app.kubernetes.io/managed-by": "gyre",
			},
		},
		Type: corev1.SecretTypeOpaque,
		Data: secretData(req),
	}
	if _, _, err := source.ParseCredentialSecret(sec); err != nil {
		return web.Repository{}, false, classified{fmt.Errorf("repository %s: %w", source.Redact(req.URL), err), web.ErrBadRequest}
	}
	created := true
	if existing := s.matching(key, req.Kind, req.Type); len(existing) > 0 {
		created = false
		sec.Name = existing[0].Name
	}
	var written *corev1.Secret
	if created {
		written, err = s.creds.secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: "gyre"})
		if apierrors.IsAlreadyExists(err) {
			created = false // made a moment ago; the watch has not caught up
		}
	}
	if !created {
		written, err = s.replace(ctx, sec)
	}
	if err != nil {
		return web.Repository{}, false, fmt.Errorf("secret %s/%s: %w", sec.Namespace, sec.Name, kubeError(err))
	}
	s.creds.waitFor(ctx, repoWriteWait, func(secrets []corev1.Secret) bool {
		return slices.ContainsFunc(secrets, func(x corev1.Secret) bool {
			return x.UID == written.UID && x.ResourceVersion == written.ResourceVersion
		})
	})
	cs, _, err := source.ParseCredentialSecret(written)
	v := repositoryView(cs)
	if err != nil {
		v.Invalid = err.Error()
	}
	return v, created, nil
}

// replace puts sec's data in place of the credentials of the Secret of its
// name, keeping its other keys, labels and annotations; the Secret keeps
// Argo CD's label if it has it, else gets gyre's.
func (s *repoStore) replace(ctx context.Context, sec *corev1.Secret) (*corev1.Secret, error) {
	for range 5 {
		cur, err := s.creds.secrets.Get(ctx, sec.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		cur = cur.DeepCopy()
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		if _, argo := cur.Labels[source.LabelArgoCDSecretType]; !argo {
			cur.Labels[source.LabelSecretType] = sec.Labels[source.LabelSecretType]
		}
		data := map[string][]byte{}
		for k, v := range cur.Data {
			if !slices.Contains(source.SecretKeys(), k) {
				data[k] = v // a key gyre does not read (Argo CD's name, project): kept
			}
		}
		maps.Copy(data, sec.Data)
		cur.Data, cur.StringData = data, nil
		out, err := s.creds.secrets.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "gyre"})
		if !apierrors.IsConflict(err) {
			return out, err
		}
	}
	return nil, errors.New("changed by someone else five times in a row; try again")
}

// DeleteRepository deletes the credentials Secrets of url, kind and type
// (any type, when empty), and returns once the watch has seen them go.
func (s *repoStore) DeleteRepository(ctx context.Context, url string, kind source.SecretType, typ source.RepoType) ([]web.Repository, error) {
	key, err := source.NormalizeURL(url)
	if err != nil {
		return nil, classified{fmt.Errorf("url: %w", err), web.ErrBadRequest}
	}
	found := s.matching(key, kind, typ)
	if len(found) == 0 {
		return nil, classified{fmt.Errorf("no %s credentials for %s in namespace %s", kind, key, s.creds.namespace), web.ErrNotFound}
	}
	var out []web.Repository
	gone := map[string]bool{}
	for _, cs := range found {
		err := s.creds.secrets.Delete(ctx, cs.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return out, fmt.Errorf("secret %s/%s: %w", cs.Namespace, cs.Name, kubeError(err))
		}
		gone[cs.Name] = true
		v := repositoryView(cs)
		out = append(out, v)
	}
	s.creds.waitFor(ctx, repoWriteWait, func(secrets []corev1.Secret) bool {
		return !slices.ContainsFunc(secrets, func(x corev1.Secret) bool { return gone[x.Name] })
	})
	return out, nil
}

// kubeError keeps only the reason of an API server error: a Secret's
// validation message could quote what it refused.
func kubeError(err error) error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err
	}
	st := status.Status()
	switch st.Reason {
	case metav1.StatusReasonInvalid:
		return errors.New("the API server refused the Secret as invalid")
	case metav1.StatusReasonForbidden:
		return fmt.Errorf("%w (gyre needs create, update and delete on secrets in its namespace)", err)
	}
	return err
}
