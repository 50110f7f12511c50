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
}

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
    InCluster(#[source] kube::config::InClusterError),
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
            let kubeconfig = Kubeconfig::read_from(path).map_err(|source| ConnectError::Kubeconfig {
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
        (None, None) if in_cluster_env_present() => {
            kube::Config::incluster_env().map_err(ConnectError::InCluster)?
        }
        (None, _) => match kube::Config::from_kubeconfig(&KubeConfigOptions::default()).await {
            Ok(config) => config,
            // `--apiserver` alone is enough to talk to an unauthenticated server.
            Err(_) if apiserver.is_some() => kube::Config::new(parse_url(apiserver.unwrap_or_default())?),
            Err(error) => return Err(ConnectError::NoConfig(error)),
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

fn parse_url(url: &str) -> Result<http::Uri, ConnectError> {
    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| ConnectError::ApiserverUrl {
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
