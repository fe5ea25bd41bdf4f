package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gyre-cd/gyre/cluster"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// The objects `gyre cluster add` makes in the cluster it registers, as
// `argocd cluster add` makes argocd-manager.
const (
	managerName      = "gyre-manager"
	managerRole      = "gyre-manager-role"
	managerBinding   = "gyre-manager-role-binding"
	managerToken     = "gyre-manager-token"
	managerTokenWait = 15 * time.Second
	// managerTokenTTL is how long a requested token lives when the
	// cluster does not fill in a long-lived token Secret.
	managerTokenTTL = 365 * 24 * time.Hour
)

// targetConfig loads the client configuration of context kubeContext (the
// current one when empty) from the kubeconfig at path, with its files read
// in.
func targetConfig(path, kubeContext string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if cfg.BearerTokenFile != "" && cfg.BearerToken == "" {
		b, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: token file: %w", path, err)
		}
		cfg.BearerToken = string(b)
	}
	return cfg, nil
}

// storedCredentials is the config of a cluster Secret that holds the
// kubeconfig's own credentials. Credentials that come from a program are
// refused: gyre runs none.
func storedCredentials(cfg *rest.Config) (cluster.Config, error) {
	if cfg.ExecProvider != nil || cfg.AuthProvider != nil {
		return cluster.Config{}, errors.New("the kubeconfig's credentials come from a program (exec or auth-provider), which gyre does not run; leave out --stored-credentials to use a ServiceAccount token")
	}
	cc := cluster.Config{BearerToken: cfg.BearerToken, Username: cfg.Username, Password: cfg.Password, TLSClientConfig: tlsOf(cfg)}
	cc.TLSClientConfig.CertData, cc.TLSClientConfig.KeyData = cfg.CertData, cfg.KeyData
	if cc.BearerToken == "" && cc.Username == "" && len(cc.TLSClientConfig.CertData) == 0 {
		return cluster.Config{}, errors.New("the kubeconfig's context has no token, password or client certificate to store")
	}
	return cc, nil
}

func tlsOf(cfg *rest.Config) cluster.TLSConfig {
	return cluster.TLSConfig{Insecure: cfg.Insecure, ServerName: cfg.ServerName, CAData: cfg.CAData}
}

// serviceAccountCredentials makes (or finds again) the gyre-manager
// ServiceAccount in namespace of the cluster at cfg, bound to a ClusterRole
// that may do everything, and returns a config with its token.
func serviceAccountCredentials(ctx context.Context, cfg *rest.Config, namespace string) (cluster.Config, string, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return cluster.Config{}, "", err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: managerName, Namespace: namespace}}
	if _, err := client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return cluster.Config{}, "", fmt.Errorf("create ServiceAccount %s/%s: %w", namespace, managerName, err)
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: managerRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}},
		},
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return cluster.Config{}, "", fmt.Errorf("create ClusterRole %s: %w", managerRole, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: managerBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: managerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: managerName, Namespace: namespace}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return cluster.Config{}, "", fmt.Errorf("create ClusterRoleBinding %s: %w", managerBinding, err)
	}
	token, note, err := managerTokenOf(ctx, client, namespace)
	if err != nil {
		return cluster.Config{}, "", err
	}
	return cluster.Config{BearerToken: token, TLSClientConfig: tlsOf(cfg)}, note, nil
}

// managerTokenOf returns a token of the gyre-manager ServiceAccount: the
// long-lived one of a service-account-token Secret, once the cluster has
// filled it in, or else a requested one that expires in managerTokenTTL
// (note says when).
func managerTokenOf(ctx context.Context, client kubernetes.Interface, namespace string) (token, note string, err error) {
	secrets := client.CoreV1().Secrets(namespace)
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: managerToken, Namespace: namespace, Annotations: map[string]string{corev1.ServiceAccountNameKey: managerName}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}
	if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", fmt.Errorf("create Secret %s/%s: %w", namespace, managerToken, err)
	}
	deadline := time.Now().Add(managerTokenWait)
	for {
		got, err := secrets.Get(ctx, managerToken, metav1.GetOptions{})
		if err != nil {
			return "", "", fmt.Errorf("read Secret %s/%s: %w", namespace, managerToken, err)
		}
		if t := got.Data[corev1.ServiceAccountTokenKey]; len(t) > 0 {
			return string(t), "", nil
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	// The cluster fills in no token Secrets (its token controller does not
	// run): ask for a token instead.
	req, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, managerName,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(managerTokenTTL / time.Second))}}, metav1.CreateOptions{})
	if err != nil {
		return "", "", fmt.Errorf("request a token of ServiceAccount %s/%s: %w", namespace, managerName, err)
	}
	return req.Status.Token, fmt.Sprintf("the cluster did not fill in a long-lived token; gyre's token expires %s: run `gyre cluster add --upsert` again before then", req.Status.ExpirationTimestamp.UTC().Format(time.RFC3339)), nil
}
