//! `--tls-config` and `--auth-filter` end to end: the exporter binary with certificates
//! made here (rcgen), a real TLS client (rustls), and for the auth filter the real
//! kube-apiserver of `../shared/realk8s` answering the TokenReviews and
//! SubjectAccessReviews. Every case runs against both ports.

mod support;

use std::path::Path;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::realk8s::RealK8s;
use support::ExporterProcess;

/// A CA and what it signed.
struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server: (String, String),
    client: (CertificateDer<'static>, PrivateKeyDer<'static>),
}

fn ca(name: &str) -> (Issuer<'static, KeyPair>, CertificateDer<'static>, String) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("CA certificate");
    (Issuer::new(params, key), cert.der().clone(), cert.pem())
}

fn client_cert(
    issuer: &Issuer<'static, KeyPair>,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params
        .distinguished_name
        .push(DnType::CommonName, "scraper");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).expect("client certificate");
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

fn pki() -> Pki {
    let (issuer, ca_der, ca_pem) = ca("test CA");
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = params.signed_by(&key, &issuer).expect("server certificate");
    Pki {
        ca_pem,
        ca_der,
        server: (server.pem(), key.serialize_pem()),
        client: client_cert(&issuer),
    }
}

fn client_config(
    ca: &CertificateDer<'static>,
    client: Option<&(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("CA into roots");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert.clone()], key.clone_key())
            .expect("client certificate"),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// One HTTPS GET (HTTP/1.1, connection closed after): the status and the whole
/// response, or why there was none.
async fn https_get(
    port: u16,
    config: &Arc<rustls::ClientConfig>,
    path: &str,
    authorization: Option<&str>,
) -> Result<(u16, String), String> {
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let name = ServerName::try_from("127.0.0.1").expect("server name");
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let auth = authorization
            .map(|value| format!("Authorization: {value}\r\n"))
            .unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n");
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut response = Vec::new();
        tls.read_to_end(&mut response)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
        Ok((status, text))
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .map_err(|_| "no answer within 20 s".to_string())?
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Starts the exporter on loopback ports it chose, its log in `dir`.
fn start_exporter(args: &[&str], dir: &Path) -> (ExporterProcess, u16, u16) {
    let exporter = ExporterProcess::spawn(args, Some(dir.join("exporter.log")), &[]);
    let (port, telemetry_port) = (exporter.port, exporter.telemetry_port);
    (exporter, port, telemetry_port)
}

/// Waits for `/readyz` to answer 200 through `config` and `authorization`.
async fn wait_ready(
    telemetry_port: u16,
    config: &Arc<rustls::ClientConfig>,
    authorization: Option<&str>,
    dir: &Path,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, _)) = https_get(telemetry_port, config, "/readyz", authorization).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter never became ready over TLS; log:\n{}",
            std::fs::read_to_string(dir.join("exporter.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_certificates_and_basic_auth_on_both_ports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki();
    std::fs::write(dir.path().join("tls.crt"), &pki.server.0).expect("write");
    std::fs::write(dir.path().join("tls.key"), &pki.server.1).expect("write");
    std::fs::write(dir.path().join("ca.crt"), &pki.ca_pem).expect("write");
    // Cost 4: the lowest bcrypt allows, to keep the test quick.
    let hash = bcrypt::hash("right horse", 4).expect("bcrypt");
    let web = format!(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  prometheus: {hash}\n"
    );
    let web_path = dir.path().join("web.yml");
    std::fs::write(&web_path, web).expect("write");
    let (_exporter, port, telemetry_port) = start_exporter(
        &[
            "--demo",
            "--tls-config",
            web_path.to_str().expect("UTF-8 path"),
        ],
        dir.path(),
    );

    let trusted = client_config(&pki.ca_der, Some(&pki.client));
    let right = basic("prometheus", "right horse");
    wait_ready(telemetry_port, &trusted, Some(&right), dir.path()).await;

    let (other_issuer, _, _) = ca("another CA");
    let rogue = client_config(&pki.ca_der, Some(&client_cert(&other_issuer)));
    let anonymous = client_config(&pki.ca_der, None);
    for (port, path, expected) in [
        (port, "/metrics", "kube_pod_info"),
        (telemetry_port, "/metrics", "kube_state_metrics_"),
    ] {
        let (status, body) = https_get(port, &trusted, path, Some(&right))
            .await
            .expect("answer");
        assert_eq!(status, 200, "port {port}: {body}");
        assert!(body.contains(expected), "port {port}: {body}");
        assert!(
            body.to_ascii_lowercase()
                .contains("x-content-type-options: nosniff"),
            "configured header missing: {body}"
        );

        for authorization in [
            Some(basic("prometheus", "wrong horse")),
            Some(basic("nobody", "right horse")),
            None,
        ] {
            let (status, body) = https_get(port, &trusted, path, authorization.as_deref())
                .await
                .expect("answer");
            assert_eq!(status, 401, "port {port} {authorization:?}: {body}");
            assert!(
                body.contains("WWW-Authenticate: Basic")
                    || body
                        .to_ascii_lowercase()
                        .contains("www-authenticate: basic"),
                "{body}"
            );
        }
        // Probes are behind TLS and basic auth too, as exporter-toolkit wraps every path.
        let probe = if port == telemetry_port {
            "/readyz"
        } else {
            "/healthz"
        };
        let (status, _) = https_get(port, &trusted, probe, None)
            .await
            .expect("answer");
        assert_eq!(status, 401, "port {port} {probe} without a password");

        // RequireAndVerifyClientCert: no certificate, or one from another CA, gets no
        // HTTP answer at all (the handshake is refused).
        for (who, config) in [
            ("no client certificate", &anonymous),
            ("another CA's certificate", &rogue),
        ] {
            let outcome = https_get(port, config, path, Some(&right)).await;
            assert!(outcome.is_err(), "port {port}, {who}: {outcome:?}");
        }
        // Plain HTTP on a TLS port gets no HTTP answer either.
        let plain = support::get(port, path);
        assert!(plain.is_none(), "plain HTTP on port {port}: {plain:?}");
    }

    // Reload: a changed file applies to the next connection (the old password no
    // longer works, the new one does), without a restart.
    let new_hash = bcrypt::hash("new horse", 4).expect("bcrypt");
    let changed = std::fs::read_to_string(&web_path)
        .expect("web config")
        .replace(&hash, &new_hash);
    std::fs::write(&web_path, changed).expect("rewrite");
    let new_password = basic("prometheus", "new horse");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = https_get(port, &trusted, "/metrics", Some(&new_password))
            .await
            .expect("answer");
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reload not seen: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = https_get(telemetry_port, &trusted, "/metrics", Some(&right))
        .await
        .expect("answer");
    assert_eq!(status, 401, "the old password after the reload");
    // A file that no longer validates closes new connections (fails closed).
    std::fs::write(&web_path, "tls_server_config: [not a map]\n").expect("rewrite");
    let outcome = https_get(port, &trusted, "/metrics", Some(&new_password)).await;
    assert!(
        outcome.is_err(),
        "an invalid file must not serve: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_filter_reviews_bearer_tokens_with_the_real_apiserver() {
    if !support::realk8s::kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else {
        return;
    };
    // Two identities: service accounts with tokens from the TokenRequest API; only the
    // first may GET the non-resource URL /metrics.
    for account in ["scraper", "stranger"] {
        k8s.kubectl(
            &["create", "serviceaccount", account, "-n", "default"],
            None,
        );
    }
    k8s.kubectl(
        &[
            "create",
            "clusterrole",
            "metrics-reader",
            "--verb=get",
            "--non-resource-url=/metrics",
        ],
        None,
    );
    k8s.kubectl(
        &[
            "create",
            "clusterrolebinding",
            "scraper-reads-metrics",
            "--clusterrole=metrics-reader",
            "--serviceaccount=default:scraper",
        ],
        None,
    );
    let token = |account: &str| {
        let output = k8s.kubectl(&["create", "token", account, "-n", "default"], None);
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let (allowed, denied) = (token("scraper"), token("stranger"));
    assert!(!allowed.is_empty() && !denied.is_empty());

    // TLS without client certificates, so that the bearer tokens travel encrypted.
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki();
    std::fs::write(dir.path().join("tls.crt"), &pki.server.0).expect("write");
    std::fs::write(dir.path().join("tls.key"), &pki.server.1).expect("write");
    let web_path = dir.path().join("web.yml");
    std::fs::write(
        &web_path,
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n",
    )
    .expect("write");
    let kubeconfig = k8s.kubeconfig();
    let (_exporter, port, telemetry_port) = start_exporter(
        &[
            "--kubeconfig",
            kubeconfig.to_str().expect("UTF-8 path"),
            "--resources=namespaces",
            "--auth-filter",
            "--tls-config",
            web_path.to_str().expect("UTF-8 path"),
        ],
        dir.path(),
    );
    let client = client_config(&pki.ca_der, None);
    // /readyz is not filtered (KSM filters /metrics only).
    wait_ready(telemetry_port, &client, None, dir.path()).await;

    for port in [port, telemetry_port] {
        let bearer = |token: &str| format!("Bearer {token}");
        let (status, body) = https_get(port, &client, "/metrics", Some(&bearer(&allowed)))
            .await
            .expect("answer");
        assert_eq!(status, 200, "port {port}, token with the RBAC verb: {body}");
        let (status, body) = https_get(port, &client, "/metrics", Some(&bearer(&denied)))
            .await
            .expect("answer");
        assert_eq!(
            status, 403,
            "port {port}, token without the RBAC verb: {body}"
        );
        assert!(
            body.contains("system:serviceaccount:default:stranger"),
            "{body}"
        );
        for authorization in [Some(bearer("garbage-token")), None] {
            let (status, body) = https_get(port, &client, "/metrics", authorization.as_deref())
                .await
                .expect("answer");
            assert_eq!(status, 401, "port {port} {authorization:?}: {body}");
        }
    }
    // The probes stay open to the kubelet.
    let (status, _) = https_get(port, &client, "/healthz", None)
        .await
        .expect("answer");
    assert_eq!(status, 200);
}
