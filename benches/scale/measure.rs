//! Measuring tools: a process's memory from /proc, loopback HTTP without a client
//! library, and repeated timing.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Resident set size now and its high-water mark, in bytes (Linux `/proc/PID/status`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

pub fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    Memory {
        rss: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

/// What a GET returned: status, body size, and the time to its last byte.
#[derive(Debug, Clone, Copy)]
pub struct Fetched {
    pub status: u16,
    pub body_bytes: u64,
    pub seconds: f64,
}

/// HTTP/1.0 GET on 127.0.0.1, counting the body without keeping it (a full scrape
/// of 150,000 pods is over a gigabyte).
pub fn get(port: u16, path: &str, gzip: bool, timeout: Duration) -> io::Result<Fetched> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\n{encoding}\r\n"
    )?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut head = Vec::new();
    let mut body_bytes = 0u64;
    let mut in_body = false;
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        if in_body {
            body_bytes += read as u64;
            continue;
        }
        head.extend_from_slice(&buffer[..read]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            body_bytes = (head.len() - end - 4) as u64;
            head.truncate(end);
            in_body = true;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Fetched {
        status,
        body_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Polls `GET path` until it answers 200; the time it took.
pub fn wait_for_200(port: u16, path: &str, limit: Duration) -> io::Result<f64> {
    let started = Instant::now();
    loop {
        if let Ok(fetched) = get(port, path, false, Duration::from_secs(2)) {
            if fetched.status == 200 {
                return Ok(started.elapsed().as_secs_f64());
            }
        }
        if started.elapsed() > limit {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{path} on port {port} not 200 within {limit:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `work` at least once and until `min` has passed (at most `max_runs` times);
/// the median seconds per run and the last result.
pub fn timed<T>(min: Duration, max_runs: usize, mut work: impl FnMut() -> T) -> (f64, T) {
    let started = Instant::now();
    let mut runs = Vec::new();
    loop {
        let run = Instant::now();
        let result = work();
        runs.push(run.elapsed().as_secs_f64());
        if started.elapsed() >= min || runs.len() >= max_runs {
            runs.sort_by(f64::total_cmp);
            return (runs[runs.len() / 2], result);
        }
        drop(result);
    }
}

/// An `io::Write` that only counts.
#[derive(Debug, Default)]
pub struct Counter(pub u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Rendered buffers are counted and handed back, as the server's body does once sent.
impl kube_state_exporter::metrics::ExpositionSink for Counter {}

/// The machine, for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    format!("{cores} cores ({cpu}), {memory} GiB RAM")
}

/// HTTP/1.0 GET of a small document (the telemetry metrics): its body as text.
pub fn get_text(port: u16, path: &str, timeout: Duration) -> io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    Ok(text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string()))
}
