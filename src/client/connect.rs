//! Where the apiserver is and who we are, following kube-state-metrics' rules:
//! `--kubeconfig` names a file; `--apiserver` overrides its server URL; with neither,
//! the in-cluster service account is used when `KUBERNETES_SERVICE_HOST`/`_PORT` are
//! set, else `KUBECONFIG` / `~/.kube/config`. kube's `Config` does the auth itself
//! (bearer token, client certificate, exec plugin, in-cluster token file re-read on
//! rotation).

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use thiserror::Error;

/// Connection flags, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub apiserver: Option<String>,
    /// Where the service account's token, CA and namespace are mounted in a pod;
    /// `None`: the standard `/var/run/secrets/kubernetes.io/serviceaccount`.
    pub service_account_dir: Option<PathBuf>,
}

/// The standard mount point of a pod's service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no kubeconfig found (KUBECONFIG / ~/.kube/config) and not in a cluster: {0}")]
    NoConfig(#[source] kube::config::KubeconfigError),
    #[error("in-cluster configuration: {0}")]
    InCluster(String),
    #[error("--apiserver {url:?} is not a valid URL: {reason}")]
    ApiserverUrl { url: String, reason: String },
    #[error("building the HTTP client: {0}")]
    Client(#[source] kube::Error),
}

fn in_cluster_env_present() -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("KUBERNETES_SERVICE_HOST") && set("KUBERNETES_SERVICE_PORT")
}

/// Resolves the flags into a kube `Config`.
pub async fn resolve_config(options: &ConnectOptions) -> Result<kube::Config, ConnectError> {
    let apiserver = options.apiserver.as_deref().filter(|s| !s.is_empty());
    let mut config = match (&options.kubeconfig, apiserver) {
        (Some(path), _) => {
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|source| ConnectError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|source| ConnectError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                })?
        }
        (None, None) if in_cluster_env_present() => in_cluster(options)?,
        (None, _) => match kube::Config::from_kubeconfig(&KubeConfigOptions::default()).await {
            Ok(config) => config,
            // `--apiserver` alone is enough to talk to an unauthenticated server.
            Err(error) => match apiserver {
                Some(url) => kube::Config::new(parse_url(url)?),
                None => return Err(ConnectError::NoConfig(error)),
            },
        },
    };
    if let Some(url) = apiserver {
        config.cluster_url = parse_url(url)?;
    }
    // We retry ourselves (backoff with jitter, Retry-After) and count every failure;
    // kube's built-in retry layer would hide 429/503 from the reflector.
    config.default_retry = false;
    Ok(config)
}

/// The in-cluster configuration, as kube's own but with the service-account
/// directory configurable: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
/// the mounted CA, and the token *file* (kube re-reads it, so rotated tokens are used).
fn in_cluster(options: &ConnectOptions) -> Result<kube::Config, ConnectError> {
    let dir = options
        .service_account_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(SERVICE_ACCOUNT_DIR));
    let host = std::env::var("KUBERNETES_SERVICE_HOST").unwrap_or_default();
    let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_default();
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let url = parse_url(&format!("https://{host}:{port}"))?;
    let ca_path = dir.join("ca.crt");
    let ca = std::fs::read_to_string(&ca_path)
        .map_err(|e| ConnectError::InCluster(format!("{}: {e}", ca_path.display())))?;
    let certificates = pem_certificates(&ca)
        .map_err(|e| ConnectError::InCluster(format!("{}: {e}", ca_path.display())))?;
    let token_path = dir.join("token");
    if !token_path.is_file() {
        return Err(ConnectError::InCluster(format!(
            "{}: no token file",
            token_path.display()
        )));
    }
    let mut config = kube::Config::new(url);
    config.root_cert = Some(certificates);
    config.root_cert_file = Some(ca_path);
    config.auth_info.token_file = Some(token_path.display().to_string());
    if let Ok(namespace) = std::fs::read_to_string(dir.join("namespace")) {
        config.default_namespace = namespace.trim().to_string();
    }
    Ok(config)
}

/// DER certificates of a PEM bundle.
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).ok_or("certificate without an END line")?;
        let text: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("certificate is not base64: {e}"))?;
        out.push(der);
        rest = &after[end + END.len()..];
    }
    if out.is_empty() {
        return Err("no certificate found".to_string());
    }
    Ok(out)
}

fn parse_url(url: &str) -> Result<http::Uri, ConnectError> {
    let uri: http::Uri =
        url.parse()
            .map_err(|e: http::uri::InvalidUri| ConnectError::ApiserverUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
    if uri.scheme().is_none() || uri.host().is_none() {
        return Err(ConnectError::ApiserverUrl {
            url: url.to_string(),
            reason: "needs a scheme and a host, e.g. https://10.0.0.1:6443".to_string(),
        });
    }
    Ok(uri)
}

/// Builds the kube client for the resolved configuration.
pub async fn connect(options: &ConnectOptions) -> Result<kube::Client, ConnectError> {
    let config = resolve_config(options).await?;
    kube::Client::try_from(config).map_err(ConnectError::Client)
}
