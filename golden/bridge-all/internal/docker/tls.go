package docker

// Mutual TLS for a daemon served on TCP: the engine and the daemon each
// show a certificate signed by one CA, the deployment's own, and the daemon
// answers no one else.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TLSFiles are the PEM files of a daemon served with mutual TLS.
type TLSFiles struct {
	// Cert and Key are the daemon's certificate and its key.
	Cert, Key string
	// CA is the certificate of the CA that signs both the daemon's and
	// the engine's certificates.
	CA string
	// ClientCert and ClientKey are the engine's certificate and key: the
	// spec file names them for the engine to read.
	ClientCert, ClientKey string
}

// ServerConfig loads the files and returns the daemon's TLS configuration:
// TLS 1.2 or later, and a client certificate signed by the CA required. It
// checks what would otherwise only fail at the engine's first call: that
// the daemon's certificate is signed by the CA and valid for host, the
// address the spec file names, and that the engine's is signed by the CA
// for client authentication.
func (f TLSFiles) ServerConfig(host string) (*tls.Config, error) {
	pool, err := loadCA(f.CA)
	if err != nil {
		return nil, err
	}
	cert, err := loadCert("--tls-cert", f.Cert, f.Key, pool, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	if err := cert.Leaf.VerifyHostname(host); err != nil {
		return nil, fmt.Errorf("--tls-cert %s is not valid for %s, the address that the engine dials: %w", f.Cert, host, err)
	}
	if _, err := loadCert("--tls-client-cert", f.ClientCert, f.ClientKey, pool, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// loadCA reads the CA certificates of the PEM file at path.
func loadCA(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// loadCert loads the key pair of certPath and keyPath and checks that the
// certificate is signed by a CA of pool for usage.
func loadCert(flag, certPath, keyPath string, pool *x509.CertPool, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", flag, err)
	}
	intermediates := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%s %s: %w", flag, certPath, err)
		}
		intermediates.AddCert(c)
	}
	_, err = cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %s is not signed by --tls-ca for this use: %w", flag, certPath, err)
	}
	return cert, nil
}

// Spec returns the spec file that points the engine at addr (HOST:PORT)
// with these files: the CA to verify the daemon, and the engine's
// certificate.
func (f TLSFiles) Spec(name, addr string) Spec {
	return Spec{
		Name: name,
		Addr: "https://" + addr,
		TLSConfig: &SpecTLS{
			CAFile:   f.CA,
			CertFile: f.ClientCert,
			KeyFile:  f.ClientKey,
		},
	}
}

// absolute makes the paths absolute: the engine reads them from the spec
// file, in its own working directory.
func (f *TLSFiles) absolute() error {
	var errs []error
	for _, p := range []*string{&f.Cert, &f.Key, &f.CA, &f.ClientCert, &f.ClientKey} {
		abs, err := filepath.Abs(*p)
		errs = append(errs, err)
		*p = abs
	}
	return errors.Join(errs...)
}
