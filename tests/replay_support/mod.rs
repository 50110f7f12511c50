//! Shared by the replay and client tests: the recorded fixture, a map-backed sink
//! with the Init/InitDone swap, fast reflector options and bounded waiting.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use kube_state_exporter::api::{Object, ResourceType};
use kube_state_exporter::client::{ApiClient, ListOptions, WatchOptions};
use kube_state_exporter::reflector::{BackoffOptions, Event, ReflectorOptions, Sink};
use kube_state_exporter::replay::Recording;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings/real-1.28-demo")
}

pub fn recording() -> Recording {
    Recording::load(&fixture_dir()).expect("the fixture recording loads")
}

/// A store stand-in: per resource, uid → resourceVersion, with a relist built aside
/// and swapped in at InitDone.
#[derive(Default)]
pub struct MapSink {
    inner: Mutex<HashMap<&'static str, Store>>,
}

#[derive(Default, Clone)]
struct Store {
    live: HashMap<String, String>,
    building: Option<HashMap<String, String>>,
    inits: u32,
}

fn identity(object: &Object) -> (String, String) {
    let meta = object.metadata().cloned().unwrap_or_default();
    (
        meta.uid.unwrap_or_default(),
        meta.resource_version.unwrap_or_default(),
    )
}

impl Sink for MapSink {
    fn handle(&self, resource: &'static ResourceType, event: Event) {
        let mut stores = self.inner.lock().unwrap();
        let store = stores.entry(resource.plural).or_default();
        match event {
            Event::Init => {
                // A list that failed part-way is abandoned by the next Init (the
                // contract in src/reflector/event.rs); its objects must never show.
                store.building = Some(HashMap::new());
            }
            Event::InitApply(object) => {
                let (uid, rv) = identity(&object);
                store
                    .building
                    .as_mut()
                    .expect("InitApply outside Init/InitDone")
                    .insert(uid, rv);
            }
            Event::InitDone => {
                store.live = store.building.take().expect("InitDone without Init");
                store.inits += 1;
            }
            Event::Apply(object) => {
                let (uid, rv) = identity(&object);
                store.live.insert(uid, rv);
            }
            Event::Delete(object) => {
                let (uid, _) = identity(&object);
                store.live.remove(&uid);
            }
        }
    }
}

impl MapSink {
    /// (uid, rv) pairs currently visible, sorted.
    pub fn snapshot(&self, plural: &str) -> Vec<(String, String)> {
        let stores = self.inner.lock().unwrap();
        let mut out: Vec<_> = stores
            .get(plural)
            .map(|s| s.live.iter().map(|(u, r)| (u.clone(), r.clone())).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    pub fn inits(&self, plural: &str) -> u32 {
        self.inner
            .lock()
            .unwrap()
            .get(plural)
            .map_or(0, |s| s.inits)
    }
}

/// Reflector options that make a test run in seconds: short backoff and watches.
pub fn fast_options() -> ReflectorOptions {
    ReflectorOptions {
        list: ListOptions {
            limit: 3,
            ..ListOptions::default()
        },
        watch: WatchOptions {
            timeout: Duration::from_secs(2),
            slack: Duration::from_secs(1),
            ..WatchOptions::default()
        },
        backoff: BackoffOptions {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(1500),
            reset_after: Duration::from_secs(60),
            jitter: 0.2,
        },
        ..ReflectorOptions::default()
    }
}

/// A client for a plain-HTTP replay server, without auth.
pub fn plain_client(addr: SocketAddr) -> ApiClient {
    let url: http::Uri = format!("http://{addr}").parse().unwrap();
    let mut config = kube::Config::new(url);
    config.default_retry = false;
    ApiClient::new(kube::Client::try_from(config).unwrap())
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F: FnMut() -> bool>(limit: Duration, mut condition: F) -> bool {
    let waited = tokio::time::timeout(limit, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    waited.is_ok()
}

/// Runs `future` with a deadline so a hung test fails instead of hanging.
pub async fn bounded<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("test step timed out")
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all PEM.
pub struct Pki {
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key_pem: String,
    pub client_pem: String,
    pub client_key_pem: String,
}

pub fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test-ca");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "exporter-client");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// Serves `state` over TLS on 127.0.0.1; with `require_client_cert`, only clients
/// presenting a certificate of the test CA get through. Returns the address and the
/// number of client certificates each handshake presented.
pub async fn start_tls(
    state: std::sync::Arc<kube_state_exporter::replay::ReplayState>,
    pki: &Pki,
    require_client_cert: bool,
) -> (
    SocketAddr,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<Mutex<Vec<usize>>>,
) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pem_der(&pki.ca_pem)))
        .unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(
            vec![CertificateDer::from(pem_der(&pki.server_pem))],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pem_der(&pki.server_key_pem))),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let presented = Arc::new(Mutex::new(Vec::new()));
    let seen = presented.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let state = state.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let count = tls.get_ref().1.peer_certificates().map_or(0, |c| c.len());
                seen.lock().unwrap().push(count);
                state.serve_io(tls).await;
            });
        }
    });
    (addr, task, presented)
}

/// Writes a kubeconfig with one cluster, one user (the given YAML body) and a
/// current context.
pub fn write_kubeconfig(
    dir: &std::path::Path,
    server: &str,
    cluster_extra: &str,
    user: &str,
) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n{cluster_extra}users:\n- name: tester\n  user:\n{user}contexts:\n- name: test\n  context:\n    cluster: test\n    user: tester\ncurrent-context: test\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Log lines captured from the reflector (tests run on a current-thread runtime, so
/// a thread-local subscriber sees the spawned tasks too).
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

pub fn subscriber(captured: &Captured) -> impl tracing::Subscriber + Send + Sync {
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish()
}
