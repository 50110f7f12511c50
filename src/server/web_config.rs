//! `--tls-config`: the Prometheus exporter-toolkit web configuration file (the format
//! kube-state-metrics and the Prometheus exporters read): TLS for both servers, client
//! certificates, basic-auth users with bcrypt hashes and extra response headers.
//!
//! Keys are the toolkit's; a key it does not define is refused (it parses strictly),
//! and so is a setting rustls cannot honour, naming the key: TLS 1.0/1.1, cipher suites
//! outside the six ECDHE AEAD suites, `RequestClientCert`/`RequireAnyClientCert`
//! (certificates accepted unverified), `client_allowed_sans`, `curve_preferences`,
//! `rate_limit`. See docs/security.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::header::{HeaderName, HeaderValue};
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use serde::Deserialize;

/// A problem with the file: one line naming the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WebConfigError {
    path: String,
    message: String,
}

impl WebConfigError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        WebConfigError {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    http_server_config: Option<HttpServerConfig>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<serde_norway::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsServerConfig {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerConfig {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// The response headers the toolkit lets a user set, and what each may hold (empty:
/// anything).
const HEADERS: &[(&str, &[&str])] = &[
    ("Content-Security-Policy", &[]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-XSS-Protection", &[]),
    ("Strict-Transport-Security", &[]),
];

/// The file, validated: what the servers apply.
#[derive(Clone)]
pub struct WebConfig {
    /// `None`: no certificate configured, plain HTTP (as the toolkit does).
    pub tls: Option<Arc<ServerConfig>>,
    /// User name to bcrypt hash; empty: no basic auth.
    pub users: BTreeMap<String, String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hashes stay out of logs and debug output.
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read(path)
            .map_err(|error| WebConfigError::new(path, format!("cannot read it: {error}")))?;
        let file: File = if text.iter().all(u8::is_ascii_whitespace) {
            File::default()
        } else {
            serde_norway::from_slice(&text)
                .map_err(|error| WebConfigError::new(path, error.to_string()))?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let error = |message: String| WebConfigError::new(path, message);
        if file.rate_limit.is_some() {
            return Err(error("rate_limit: not supported by this exporter".into()));
        }
        let tls = match file.tls_server_config {
            Some(tls) => tls_config(tls, base).map_err(error)?,
            None => None,
        };
        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(error(format!(
                    "basic_auth_users.{user}: not a bcrypt hash (e.g. from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                )));
            }
        }
        let mut headers = Vec::new();
        if let Some(http) = file.http_server_config {
            // http2: accepted either way; the servers speak HTTP/1.1 only (no ALPN).
            let _ = http.http2;
            for (name, value) in http.headers.unwrap_or_default() {
                let Some((known, allowed)) = HEADERS
                    .iter()
                    .find(|(known, _)| known.eq_ignore_ascii_case(&name))
                else {
                    return Err(error(format!(
                        "http_server_config.headers.{name}: not a header the web configuration may set ({})",
                        HEADERS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    )));
                };
                if value.is_empty() {
                    continue;
                }
                if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value)) {
                    return Err(error(format!(
                        "http_server_config.headers.{known}: {value:?} is not one of {}",
                        allowed.join(", ")
                    )));
                }
                let value = HeaderValue::from_str(&value).map_err(|_| {
                    error(format!(
                        "http_server_config.headers.{known}: not a valid header value"
                    ))
                })?;
                headers.push((HeaderName::from_static(lowercase(known)), value));
            }
        }
        Ok(WebConfig {
            tls,
            users,
            headers,
        })
    }
}

fn lowercase(known: &'static str) -> &'static str {
    match known {
        "Content-Security-Policy" => "content-security-policy",
        "X-Frame-Options" => "x-frame-options",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "strict-transport-security",
    }
}

/// PEM text from the inline key or the file key (relative to the config file's folder);
/// both set is an error, as in the toolkit.
fn pem_source(
    inline: Option<String>,
    file: Option<PathBuf>,
    inline_key: &str,
    file_key: &str,
    base: &Path,
) -> Result<Option<Vec<u8>>, String> {
    match (
        inline.filter(|s| !s.is_empty()),
        file.filter(|p| !p.as_os_str().is_empty()),
    ) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: {inline_key} and {file_key} are both set; give one"
        )),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, Some(path)) => {
            let path = if path.is_absolute() {
                path
            } else {
                base.join(path)
            };
            std::fs::read(&path).map(Some).map_err(|error| {
                format!("tls_server_config.{file_key}: {}: {error}", path.display())
            })
        }
        (None, None) => Ok(None),
    }
}

fn tls_config(tls: TlsServerConfig, base: &Path) -> Result<Option<Arc<ServerConfig>>, String> {
    let cert = pem_source(tls.cert, tls.cert_file, "cert", "cert_file", base)?;
    let key = pem_source(tls.key, tls.key_file, "key", "key_file", base)?;
    let client_ca = pem_source(
        tls.client_ca,
        tls.client_ca_file,
        "client_ca",
        "client_ca_file",
        base,
    )?;
    let client_auth = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    if tls.client_allowed_sans.is_some() {
        return Err("tls_server_config.client_allowed_sans: not supported by this exporter".into());
    }
    if tls.curve_preferences.is_some() {
        return Err("tls_server_config.curve_preferences: not supported by this exporter (X25519, P-256 and P-384 are offered)".into());
    }
    let (cert, key) = match (cert, key) {
        (None, None) => {
            if client_ca.is_some() || client_auth != "NoClientCert" {
                return Err(
                    "tls_server_config: client certificates need TLS: set cert_file and key_file"
                        .into(),
                );
            }
            return Ok(None);
        }
        (Some(_), None) => return Err("tls_server_config: key_file (or key) is missing".into()),
        (None, Some(_)) => return Err("tls_server_config: cert_file (or cert) is missing".into()),
        (Some(cert), Some(key)) => (cert, key),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<_, _>>()
        .map_err(|error| format!("tls_server_config.cert_file: not PEM certificates: {error}"))?;
    if chain.is_empty() {
        return Err("tls_server_config.cert_file: no certificate in it".into());
    }
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|error| format!("tls_server_config.key_file: no PEM private key: {error}"))?;

    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let mut crypto = provider::default_provider();
    if let Some(names) = &tls.cipher_suites {
        crypto.cipher_suites = cipher_suites(names)?;
    }
    let crypto = Arc::new(crypto);

    let roots = match client_ca {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|error| {
                    format!("tls_server_config.client_ca_file: not PEM certificates: {error}")
                })?;
                roots.add(cert).map_err(|error| {
                    format!("tls_server_config.client_ca_file: unusable certificate: {error}")
                })?;
            }
            if roots.is_empty() {
                return Err("tls_server_config.client_ca_file: no certificate in it".into());
            }
            Some(Arc::new(roots))
        }
        None => None,
    };
    let verifier = match (client_auth, roots) {
        ("NoClientCert", None) => WebPkiClientVerifier::no_client_auth(),
        ("NoClientCert", Some(_)) => {
            return Err("tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert (no certificate is asked for)".into())
        }
        ("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven", None) => {
            return Err(format!("tls_server_config.client_auth_type: {client_auth} needs client_ca_file"))
        }
        ("RequireAndVerifyClientCert", Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, crypto.clone())
                .build()
                .map_err(|error| format!("tls_server_config.client_ca_file: {error}"))?
        }
        ("VerifyClientCertIfGiven", Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, crypto.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|error| format!("tls_server_config.client_ca_file: {error}"))?
        }
        ("RequestClientCert" | "RequireAnyClientCert", _) => {
            return Err(format!(
                "tls_server_config.client_auth_type: {client_auth} is not supported (it accepts certificates without verifying them); use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ))
        }
        (other, _) => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?} (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
            ))
        }
    };
    let mut config = ServerConfig::builder_with_provider(crypto)
        .with_protocol_versions(&versions)
        .map_err(|error| format!("tls_server_config: {error}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|error| format!("tls_server_config: certificate and key do not fit: {error}"))?;
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

fn version(name: &str, key: &str) -> Result<u8, String> {
    match name {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(format!(
            "tls_server_config.{key}: {name} is not supported (TLS12 and TLS13 are)"
        )),
        other => Err(format!(
            "tls_server_config.{key}: unknown version {other:?} (TLS12, TLS13)"
        )),
    }
}

fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let min = version(min.unwrap_or("TLS12"), "min_version")?;
    let max = version(max.unwrap_or("TLS13"), "max_version")?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let mut out = Vec::new();
    if min <= 13 && max >= 13 {
        out.push(&rustls::version::TLS13);
    }
    if min <= 12 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

/// Go's names for the TLS 1.2 suites; as in Go, the list leaves TLS 1.3's suites alone.
fn cipher_suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>, String> {
    use provider::cipher_suite as cs;
    let known: &[(&str, SupportedCipherSuite)] = &[
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ];
    let mut suites = vec![
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    for name in names {
        // Go also accepts the legacy `..._CHACHA20_POLY1305` spelling without `_SHA256`.
        let canonical = if name.ends_with("_CHACHA20_POLY1305") {
            format!("{name}_SHA256")
        } else {
            name.clone()
        };
        let Some((_, suite)) = known.iter().find(|(known, _)| *known == canonical) else {
            return Err(format!(
                "tls_server_config.cipher_suites: {name} is not supported (supported: {})",
                known.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ));
        };
        suites.push(*suite);
    }
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<WebConfig, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        std::fs::write(dir.path().join("tls.crt"), cert.cert.pem()).expect("write");
        std::fs::write(dir.path().join("tls.key"), cert.signing_key.serialize_pem())
            .expect("write");
        std::fs::write(dir.path().join("ca.crt"), cert.cert.pem()).expect("write");
        let path = dir.path().join("web.yml");
        std::fs::write(&path, yaml).expect("write");
        WebConfig::load(&path).map_err(|error| error.to_string())
    }

    #[test]
    fn accepts_the_toolkit_keys_it_can_honour() {
        let config = load(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS12\n  max_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  prefer_server_cipher_suites: false\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    Content-Security-Policy: \"\"\nbasic_auth_users:\n  alice: $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n",
        )
        .expect("valid");
        let tls = config.tls.expect("tls");
        assert!(!tls.ignore_client_order);
        assert_eq!(config.users.len(), 1);
        assert_eq!(config.headers.len(), 1);
        // No certificate: plain HTTP, basic auth still applies.
        let plain = load("basic_auth_users:\n  bob: $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n")
            .expect("valid");
        assert!(plain.tls.is_none());
        assert!(load("").expect("empty").tls.is_none());
    }

    #[test]
    fn refuses_what_it_cannot_honour_naming_the_key() {
        let tls = "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n";
        for (extra, key) in [
            ("  min_version: TLS10\n", "min_version"),
            ("  max_version: TLS14\n", "max_version"),
            (
                "  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
                "cipher_suites",
            ),
            (
                "  client_auth_type: RequireAnyClientCert\n",
                "client_auth_type",
            ),
            (
                "  client_auth_type: RequireAndVerifyClientCert\n",
                "client_auth_type",
            ),
            ("  client_ca_file: ca.crt\n", "client_ca_file"),
            ("  client_allowed_sans: [a]\n", "client_allowed_sans"),
            ("  curve_preferences: [X25519]\n", "curve_preferences"),
            ("  cert: inline\n", "cert_file"),
            ("  no_such_key: 1\n", "no_such_key"),
        ] {
            let error = load(&format!("{tls}{extra}")).expect_err(extra);
            assert!(error.contains(key), "{extra}: {error}");
        }
        for (yaml, key) in [
            ("tls_server_config:\n  cert_file: tls.crt\n", "key_file"),
            ("tls_server_config:\n  key_file: tls.key\n", "cert_file"),
            (
                "tls_server_config:\n  cert_file: nope.crt\n  key_file: tls.key\n",
                "nope.crt",
            ),
            (
                "basic_auth_users:\n  carol: plaintext\n",
                "basic_auth_users.carol",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "X-Frame-Options",
            ),
            (
                "http_server_config:\n  headers:\n    Server: me\n",
                "headers.Server",
            ),
            ("rate_limit:\n  interval: 1s\n  burst: 1\n", "rate_limit"),
        ] {
            let error = load(yaml).expect_err(yaml);
            assert!(error.contains(key), "{yaml}: {error}");
        }
    }
}
