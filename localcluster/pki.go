package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the set of credentials the embedded control plane uses. It is
// generated once into <data-dir>/pki and reused on every later start, so the
// kubeconfig handed to users stays valid across restarts.
type pki struct {
	dir string

	caCert              *x509.Certificate
	caKey               crypto.Signer
	caPEM               []byte
	adminCert, adminKey []byte // PEM, a client certificate in system:masters
}

// Files inside pki.dir.
const (
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	servingCertFile = "apiserver.crt"
	servingKeyFile  = "apiserver.key"
	adminCertFile   = "admin.crt"
	adminKeyFile    = "admin.key"
	saKeyFile       = "sa.key"
)

// loadOrCreatePKI reads the credentials in dir, creating whatever is missing.
// The serving certificate is valid for the loopback addresses, localhost and
// the in-cluster names of the kubernetes Service.
func loadOrCreatePKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{dir: dir}
	var err error
	p.caCert, p.caKey, err = loadPair(p.path(caCertFile), p.path(caKeyFile))
	if errors.Is(err, os.ErrNotExist) {
		p.caCert, p.caKey, err = createCA(p.path(caCertFile), p.path(caKeyFile))
	}
	if err != nil {
		return nil, fmt.Errorf("certificate authority in %s: %w", dir, err)
	}
	p.caPEM = pemCert(p.caCert.Raw)

	if _, _, err := loadPair(p.path(servingCertFile), p.path(servingKeyFile)); errors.Is(err, os.ErrNotExist) {
		err = p.issue(servingCertFile, servingKeyFile, x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback, net.ParseIP(serviceAPIIP)},
		})
		if err != nil {
			return nil, fmt.Errorf("serving certificate in %s: %w", dir, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("serving certificate in %s: %w", dir, err)
	}

	if _, _, err := loadPair(p.path(adminCertFile), p.path(adminKeyFile)); errors.Is(err, os.ErrNotExist) {
		err = p.issue(adminCertFile, adminKeyFile, x509.Certificate{
			Subject:     pkix.Name{CommonName: "gyre-admin", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return nil, fmt.Errorf("admin certificate in %s: %w", dir, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("admin certificate in %s: %w", dir, err)
	}
	if p.adminCert, err = os.ReadFile(p.path(adminCertFile)); err != nil {
		return nil, err
	}
	if p.adminKey, err = os.ReadFile(p.path(adminKeyFile)); err != nil {
		return nil, err
	}

	if _, err := os.Stat(p.path(saKeyFile)); errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := writeKey(p.path(saKeyFile), key); err != nil {
			return nil, fmt.Errorf("service account key in %s: %w", dir, err)
		}
	}
	return p, nil
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// issue signs a certificate from tmpl with the CA and writes it with a new key.
func (p *pki) issue(certName, keyName string, tmpl x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(10, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		return err
	}
	// Key first: a certificate without its key is treated as missing only
	// through the key, so a crash between the writes regenerates both.
	if err := writeKey(p.path(keyName), key); err != nil {
		return err
	}
	return writeFileAtomic(p.path(certName), pemCert(der), 0o644)
}

func createCA(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gyre-local-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(certPath, pemCert(der), 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// loadPair reads a PEM certificate and its EC private key. A missing key
// reports os.ErrNotExist so that the pair is created anew.
func loadPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, nil, fmt.Errorf("%s: no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s: no PEM key", keyPath)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return cert, key, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so a crash never leaves a half-written file behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
