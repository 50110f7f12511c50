//! Helpers shared by the server tests: a tiny raw HTTP/1.1 client (so tests can see the
//! transfer encoding and whether a chunked body was properly terminated) and server start-up.

#![allow(dead_code)] // each test crate uses a different subset

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for any single network wait in a test (a safety net, not an assertion).
pub const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body with any chunked framing removed.
    pub body: Vec<u8>,
    pub chunked: bool,
    /// For chunked bodies: the terminating zero-length chunk arrived.
    pub complete: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("test bodies are UTF-8")
    }
}

pub fn request_bytes(path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// GET with `Connection: close`, reading until the server closes.
pub async fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut stream = connect(port).await;
    stream
        .write_all(&request_bytes(path, headers))
        .await
        .expect("sending the request");
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("server answered in time")
        .expect("reading the response");
    parse_response(&raw)
}

pub async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connecting to the test server")
}

/// Splits head and body, removes chunked framing.
pub fn parse_response(raw: &[u8]) -> RawResponse {
    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..head_end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let rest = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let (body, complete) = if chunked {
        dechunk(rest)
    } else {
        (rest.to_vec(), true)
    };
    RawResponse {
        status,
        headers,
        body,
        chunked,
        complete,
    }
}

fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::with_capacity(data.len());
    loop {
        let Some(line_end) = data.windows(2).position(|window| window == b"\r\n") else {
            return (body, false);
        };
        let size_text = std::str::from_utf8(&data[..line_end]).expect("chunk size line");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return (body, true);
        }
        if data.len() < size + 2 {
            body.extend_from_slice(&data[..data.len().min(size)]);
            return (body, false);
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A shutdown trigger for a server started in a test.
pub struct Running {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn new(
        port: u16,
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    ) -> Self {
        Running {
            port,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and checks it ended cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let ended = tokio::time::timeout(PATIENCE, task)
                .await
                .expect("server stopped in time");
            ended
                .expect("server task did not panic")
                .expect("server ended without error");
        }
    }
}
