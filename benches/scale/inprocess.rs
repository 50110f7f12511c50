//! Figures measured inside the bench process, on bodies read from the recording:
//! decode throughput, store ingest and size, render, and watch-event apply rate, for
//! this exporter and for the baseline's types (k8s-openapi + kube-runtime's store).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent as OpenApiWatchEvent;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;

use kube_state_exporter::api::envelope::{self, Body};
use kube_state_exporter::api::{Object, ResourceType};
use kube_state_exporter::client::frame::FrameDecoder;
use kube_state_exporter::client::watch::decode_event_frame;
use kube_state_exporter::client::{Format, WatchEvent};
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::Event;
use kube_state_exporter::replay::recording::Recording;
use kube_state_exporter::replay::wire;
use kube_state_exporter::server::compress::{self, ParallelEncoder};
use kube_state_exporter::server::negotiate::Encoding;
use kube_state_exporter::store::{Store, StoreOptions};
use serde_json::value::RawValue;

use crate::measure::{timed, Counter};

/// The bodies the in-process figures use, straight from the recording's files.
pub struct Bodies {
    pub pods_protobuf: Bytes,
    pub pods_json: Bytes,
    pub nodes_protobuf: Bytes,
    pub pods_watch_protobuf: Bytes,
    pub pods_watch_json: Bytes,
}

impl Bodies {
    pub fn read(dir: &Path) -> anyhow::Result<Bodies> {
        let manifest = std::fs::read(dir.join("manifest.json"))
            .with_context(|| format!("{}/manifest.json", dir.display()))?;
        let manifest = Recording::parse_manifest(&manifest)?;
        let body = |note: &str| -> anyhow::Result<Bytes> {
            let capture = manifest
                .captures
                .iter()
                .find(|c| c.note == note)
                .with_context(|| {
                    format!(
                        "{}: no capture noted {note:?} (was it synthesized with --json?)",
                        dir.display()
                    )
                })?;
            let path = dir.join(&capture.body);
            Ok(Bytes::from(
                std::fs::read(&path).with_context(|| path.display().to_string())?,
            ))
        };
        Ok(Bodies {
            pods_protobuf: body("list pods protobuf")?,
            pods_json: body("list pods json")?,
            nodes_protobuf: body("list nodes protobuf")?,
            pods_watch_protobuf: body("watch pods protobuf")?,
            pods_watch_json: body("watch pods json")?,
        })
    }
}

/// One decode measurement.
#[derive(Debug, Clone, Copy)]
pub struct Decode {
    pub seconds: f64,
    pub bytes: u64,
    pub objects: u64,
}

impl Decode {
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
    pub fn objects_per_second(&self) -> f64 {
        self.objects as f64 / self.seconds
    }
}

const MIN_TIME: Duration = Duration::from_millis(300);
const MAX_RUNS: usize = 25;

/// The apiserver's page size for lists (the exporter's and kube-runtime's default).
pub const PAGE_SIZE: usize = 500;

/// The pod list cut into pages of [`PAGE_SIZE`], as the apiserver serves a paged
/// list: decoding is measured page by page, each page dropped after decoding, which
/// is what a streaming list does (and keeps the allocator's memory warm, so the
/// figure is the decoder's rather than the kernel's page faults).
pub struct Pages {
    pub protobuf: Vec<Bytes>,
    pub json: Vec<Bytes>,
}

impl Pages {
    pub fn cut(bodies: &Bodies) -> anyhow::Result<Pages> {
        let list = envelope::open(bodies.pods_protobuf.clone())?;
        let (meta, items) = wire::split_list(&list.raw)?;
        let protobuf = items
            .chunks(PAGE_SIZE)
            .map(|page| {
                let raw = Bytes::from(wire::join_list(&meta, page));
                Bytes::from(envelope::seal(&list.api_version, &list.kind, raw))
            })
            .collect();
        #[derive(serde::Deserialize)]
        struct RawList<'a> {
            kind: &'a str,
            #[serde(rename = "apiVersion")]
            api_version: &'a str,
            #[serde(borrow)]
            items: Vec<&'a RawValue>,
        }
        let raw: RawList<'_> = serde_json::from_slice(&bodies.pods_json)?;
        let json = raw
            .items
            .chunks(PAGE_SIZE)
            .map(|page| {
                let items: Vec<&str> = page.iter().map(|item| item.get()).collect();
                Bytes::from(format!(
                    "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{{}},\"items\":[{}]}}",
                    raw.kind,
                    raw.api_version,
                    items.join(",")
                ))
            })
            .collect();
        Ok(Pages { protobuf, json })
    }
}

fn total_bytes(pages: &[Bytes]) -> u64 {
    pages.iter().map(|p| p.len() as u64).sum()
}

/// Decodes every page with `decode_page`, timing the decode of each page but not the
/// drop of what it decoded (the baseline keeps its objects; this exporter drops them
/// once compiled: neither cost is decoding). Repeated like [`timed`]; the median run.
fn decode_pages<T>(
    pages: &[Bytes],
    decode_page: impl Fn(&Bytes) -> anyhow::Result<T>,
    count: impl Fn(&T) -> usize,
) -> anyhow::Result<Decode> {
    let started = std::time::Instant::now();
    let mut runs = Vec::new();
    let mut objects = 0;
    while runs.is_empty() || (started.elapsed() < MIN_TIME && runs.len() < MAX_RUNS) {
        let mut seconds = 0.0;
        objects = 0;
        for page in pages {
            let decode_started = std::time::Instant::now();
            let decoded = decode_page(page)?;
            seconds += decode_started.elapsed().as_secs_f64();
            objects += count(&decoded) as u64;
        }
        runs.push(seconds);
    }
    runs.sort_by(f64::total_cmp);
    Ok(Decode {
        seconds: runs[runs.len() / 2],
        bytes: total_bytes(pages),
        objects,
    })
}

/// Decoded as the client's list does: the body, then its items as `Object`s.
pub fn decode_protobuf(pages: &Pages) -> anyhow::Result<Decode> {
    decode_pages(
        &pages.protobuf,
        |page| items(envelope::decode(page.clone())),
        Vec::len,
    )
}

pub fn decode_json(pages: &Pages) -> anyhow::Result<Decode> {
    decode_pages(
        &pages.json,
        |page| items(kube_state_exporter::api::json::decode(page)),
        Vec::len,
    )
}

/// The baseline's decode: k8s-openapi's serde types, as kube-client deserializes a page.
pub fn decode_openapi(pages: &Pages) -> anyhow::Result<Decode> {
    decode_pages(
        &pages.json,
        |page| Ok(serde_json::from_slice::<k8s_openapi::List<Pod>>(page)?),
        |list| list.items.len(),
    )
}

fn items<E: std::error::Error + Send + Sync + 'static>(
    body: Result<Body, E>,
) -> anyhow::Result<Vec<Object>> {
    match body? {
        Body::List(list) => Ok(list.into_items()),
        _ => bail!("the body is not a list"),
    }
}

fn list_objects(body: &Bytes) -> anyhow::Result<Vec<Object>> {
    match envelope::decode(body.clone())? {
        Body::List(list) => Ok(list.into_items()),
        _ => bail!("the body is not a list"),
    }
}

/// The store, filled from the protobuf lists, and what it took.
pub struct Ingest {
    pub store: Store,
    pub seconds: f64,
    pub pods: u64,
    pub pod_heap_bytes: u64,
}

/// Decodes the lists and feeds them to a store as a reflector would; the time covers
/// metric generation and compaction, not the decode.
pub fn ingest(bodies: &Bodies) -> anyhow::Result<Ingest> {
    let store = Store::new(&["pods", "nodes"], &StoreOptions::default())?;
    let pods = list_objects(&bodies.pods_protobuf)?;
    let nodes = list_objects(&bodies.nodes_protobuf)?;
    let started = std::time::Instant::now();
    for (plural, objects) in [("nodes", nodes), ("pods", pods)] {
        store.apply(plural, Event::Init);
        for object in objects {
            store.apply(plural, Event::InitApply(object));
        }
        store.apply(plural, Event::InitDone);
    }
    let seconds = started.elapsed().as_secs_f64();
    let pods = store.object_count("pods") as u64;
    let pod_heap_bytes = store.heap_bytes("pods") as u64;
    Ok(Ingest {
        store,
        seconds,
        pods,
        pod_heap_bytes,
    })
}

#[derive(Debug, Clone, Copy)]
pub struct Render {
    pub seconds: f64,
    pub bytes: u64,
    pub gzip_seconds: f64,
    pub gzip_bytes: u64,
}

/// A full text exposition to a byte counter, plain and through gzip (the level the
/// server uses).
pub fn render(store: &Store) -> anyhow::Result<Render> {
    let request = RenderRequest::all(ExpositionFormat::Text);
    let (seconds, plain) = timed(MIN_TIME, 5, || {
        let mut counter = Counter::default();
        store
            .stream_exposition(&request, &mut counter)
            .map(|()| counter.0)
    });
    let (gzip_seconds, gzip) = timed(Duration::ZERO, 3, || {
        let mut encoder = ParallelEncoder::with_default_level(Counter::default(), Encoding::Gzip);
        store
            .stream_exposition(&request, &mut encoder)
            .and_then(|()| encoder.finish())
            .map(|counter| counter.0)
    });
    Ok(Render {
        seconds,
        bytes: plain?,
        gzip_seconds,
        gzip_bytes: gzip?,
    })
}

#[derive(Debug, Clone, Copy)]
pub struct Apply {
    pub events: u64,
    pub seconds: f64,
}

impl Apply {
    pub fn per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

/// Decodes the recorded pod watch (protobuf frames) and applies every event to the
/// filled store: what the exporter does per watch event.
pub fn apply_watch(store: &Store, body: &Bytes) -> anyhow::Result<Apply> {
    let pods = ResourceType::by_plural("pods").context("pods are served")?;
    let (seconds, events) = timed(MIN_TIME, MAX_RUNS, || -> anyhow::Result<u64> {
        let mut frames = FrameDecoder::new(Format::Protobuf, usize::MAX);
        frames.push(body);
        let mut events = 0;
        while let Some(frame) = frames.next_frame()? {
            let event = decode_event_frame(pods, Format::Protobuf, &frame, &mut Default::default())
                .map_err(|(error, _)| anyhow::anyhow!("watch frame: {error}"))?;
            events += 1;
            match event {
                WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                    store.apply("pods", Event::Apply(object));
                }
                WatchEvent::Deleted(object) => store.apply("pods", Event::Delete(object)),
                _ => {}
            }
        }
        Ok(events)
    });
    Ok(Apply {
        events: events?,
        seconds,
    })
}

/// The baseline's store (kube-runtime's `Writer`), filled from the JSON list.
pub fn baseline_store(body: &Bytes) -> anyhow::Result<Writer<Pod>> {
    let list: k8s_openapi::List<Pod> = serde_json::from_slice(body)?;
    let mut writer = Writer::default();
    writer.apply_watcher_event(&watcher::Event::Init);
    for pod in list.items {
        writer.apply_watcher_event(&watcher::Event::InitApply(pod));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    Ok(writer)
}

/// The same watch as JSON lines, decoded by k8s-openapi and applied to kube-runtime's store.
pub fn baseline_apply_watch(writer: &mut Writer<Pod>, body: &Bytes) -> anyhow::Result<Apply> {
    let (seconds, events) = timed(MIN_TIME, MAX_RUNS, || -> anyhow::Result<u64> {
        let mut events = 0;
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let event: OpenApiWatchEvent<Pod> = serde_json::from_slice(line)?;
            events += 1;
            match event {
                OpenApiWatchEvent::Added(pod) | OpenApiWatchEvent::Modified(pod) => {
                    writer.apply_watcher_event(&watcher::Event::Apply(pod));
                }
                OpenApiWatchEvent::Deleted(pod) => {
                    writer.apply_watcher_event(&watcher::Event::Delete(pod));
                }
                _ => {}
            }
        }
        Ok(events)
    });
    Ok(Apply {
        events: events?,
        seconds,
    })
}

/// Time and size of the exposition compressed at each level, the way the server does it
/// (blocks on the render pool) and on one thread (the CPU cost): printed as a table, for
/// choosing the levels in `src/server/compress.rs`.
pub fn compression_levels(store: &Store) -> anyhow::Result<()> {
    let request = RenderRequest::all(ExpositionFormat::Text);
    let mut text = Vec::new();
    store.write_exposition(&request, &mut text)?;
    println!(
        "\ncompression of the {:.1} MB exposition ({} KiB blocks, {} workers)",
        text.len() as f64 / 1e6,
        compress::BLOCK_SIZE / 1024,
        kube_state_exporter::metrics::pool::workers()
    );
    println!("| coding | level | parallel s | one thread s | MB | ratio |");
    println!("|---|---|---|---|---|---|");
    let cases: [(Encoding, &[i32]); 2] = [
        (Encoding::Gzip, &[1, 2, 4, 6, 9]),
        (Encoding::Zstd, &[-3, 1, 3, 6]),
    ];
    for (encoding, levels) in cases {
        for &level in levels {
            let (parallel, size) = timed(Duration::ZERO, 3, || {
                let mut encoder = ParallelEncoder::new(Counter::default(), encoding, level);
                encoder
                    .write_all(&text)
                    .and_then(|()| encoder.finish())
                    .map(|c| c.0)
            });
            let size = size?;
            let (single, _) = timed(Duration::ZERO, 1, || {
                text.chunks(compress::BLOCK_SIZE)
                    .map(|block| compress::compress_block(encoding, level, block).map(|c| c.len()))
                    .sum::<std::io::Result<usize>>()
            });
            println!(
                "| {encoding:?} | {level} | {parallel:.3} | {single:.3} | {:.1} | {:.1}x |",
                size as f64 / 1e6,
                text.len() as f64 / size as f64
            );
        }
    }
    Ok(())
}
