//! What a scrape asks for, read from its headers and query string.
//!
//! Format: like kube-state-metrics, the text format 0.0.4 unless the client's Accept header
//! prefers OpenMetrics; protobuf exposition is never served. One deliberate improvement
//! (KSM issue #3010): when a client ranks protobuf first (Prometheus with native histograms)
//! we skip it and keep looking for OpenMetrics instead of falling back to text at once.

use std::collections::BTreeSet;

use crate::metrics::{ExpositionFormat, RenderRequest};

pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn content_type(format: ExpositionFormat) -> &'static str {
    match format {
        ExpositionFormat::Text => TEXT_CONTENT_TYPE,
        ExpositionFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
    }
}

/// One media range of an Accept header.
struct MediaRange<'a> {
    essence: &'a str,
    version: Option<&'a str>,
    quality: f32,
}

fn parse_media_range(entry: &str) -> Option<MediaRange<'_>> {
    let mut parts = entry.split(';').map(str::trim);
    let essence = parts.next().filter(|essence| !essence.is_empty())?;
    let mut range = MediaRange {
        essence,
        version: None,
        quality: 1.0,
    };
    for param in parts {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "version" => range.version = Some(value),
            // A malformed q is treated as "not acceptable" rather than guessed at.
            "q" => range.quality = value.parse().unwrap_or(0.0),
            _ => {}
        }
    }
    Some(range)
}

/// The exposition format for an Accept header (absent header: text).
pub fn negotiate_format(accept: Option<&str>) -> ExpositionFormat {
    let Some(accept) = accept else {
        return ExpositionFormat::Text;
    };
    let mut ranges: Vec<MediaRange<'_>> = accept
        .split(',')
        .filter_map(parse_media_range)
        .filter(|range| range.quality > 0.0)
        .collect();
    // Stable sort: equal qualities keep the client's order.
    ranges.sort_by(|a, b| b.quality.total_cmp(&a.quality));
    for range in &ranges {
        if range
            .essence
            .eq_ignore_ascii_case("application/openmetrics-text")
            && matches!(range.version, None | Some("1.0.0") | Some("0.0.1"))
        {
            return ExpositionFormat::OpenMetrics;
        }
        if range.essence.eq_ignore_ascii_case("text/plain")
            && matches!(range.version, None | Some("0.0.4"))
        {
            return ExpositionFormat::Text;
        }
    }
    ExpositionFormat::Text
}

/// A content coding of the `/metrics` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` value, `None` for identity.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Zstd => Some("zstd"),
        }
    }
}

/// Which codings the server may use when a client accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionPolicy {
    pub gzip: bool,
    pub zstd: bool,
}

/// The coding for an `Accept-Encoding` header under RFC 9110 §12.5.3: the acceptable
/// coding with the highest q-value wins; a coding not named takes the q of `*` if given;
/// identity is acceptable unless refused (`identity;q=0`, or `*;q=0` without naming it),
/// and preferred over a coding only when its q-value (named or by `*`) is higher. On a tie
/// the smaller body wins (zstd, then gzip, then identity). No header: identity.
pub fn negotiate_encoding(accept_encoding: Option<&str>, policy: CompressionPolicy) -> Encoding {
    let Some(header) = accept_encoding else {
        return Encoding::Identity;
    };
    let ranges: Vec<MediaRange<'_>> = header.split(',').filter_map(parse_media_range).collect();
    let quality_of = |name: &str| -> Option<f32> {
        ranges
            .iter()
            .find(|range| range.essence.eq_ignore_ascii_case(name))
            .or_else(|| ranges.iter().find(|range| range.essence == "*"))
            .map(|range| range.quality)
    };
    // Identity is the fallback whatever its q: even `identity;q=0` gets identity when
    // nothing else is allowed (refusing the scrape would help nobody).
    let mut best = (Encoding::Identity, quality_of("identity").unwrap_or(0.0));
    // Listed from the least to the most preferred on a tie.
    for (coding, allowed, name) in [
        (Encoding::Gzip, policy.gzip, "gzip"),
        (Encoding::Zstd, policy.zstd, "zstd"),
    ] {
        let quality = quality_of(name).unwrap_or(0.0);
        if allowed && quality > 0.0 && quality >= best.1 {
            best = (coding, quality);
        }
    }
    best.0
}

/// `?resources=a,b&exclude_resources=c` (each repeatable) → which resources to render.
/// An empty `resources=` value selects nothing extra; only present names count.
pub fn render_request(format: ExpositionFormat, query: Option<&str>) -> RenderRequest {
    let mut include: Option<BTreeSet<String>> = None;
    let mut exclude = BTreeSet::new();
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let names = percent_decode(value);
        let names = names
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string);
        match key {
            "resources" => include.get_or_insert_with(BTreeSet::new).extend(names),
            "exclude_resources" => exclude.extend(names),
            _ => {}
        }
    }
    RenderRequest {
        format,
        include,
        exclude,
    }
}

/// Minimal query-value decoding: `+` is a space, `%XX` a byte; malformed escapes stay as they are.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_accept_header_is_text() {
        assert_eq!(negotiate_format(None), ExpositionFormat::Text);
        assert_eq!(negotiate_format(Some("*/*")), ExpositionFormat::Text);
    }

    #[test]
    fn prometheus_default_accept_picks_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            negotiate_format(Some(accept)),
            ExpositionFormat::OpenMetrics
        );
    }

    #[test]
    fn text_preferred_over_openmetrics_by_quality() {
        let accept =
            "application/openmetrics-text;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.9";
        assert_eq!(negotiate_format(Some(accept)), ExpositionFormat::Text);
    }

    #[test]
    fn protobuf_first_still_finds_openmetrics() {
        let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.3";
        assert_eq!(
            negotiate_format(Some(accept)),
            ExpositionFormat::OpenMetrics
        );
    }

    #[test]
    fn unknown_openmetrics_version_is_skipped() {
        assert_eq!(
            negotiate_format(Some("application/openmetrics-text;version=9.9.9")),
            ExpositionFormat::Text
        );
    }

    #[test]
    fn encoding_follows_q_values() {
        let both = CompressionPolicy {
            gzip: true,
            zstd: true,
        };
        let gzip_only = CompressionPolicy {
            gzip: true,
            zstd: false,
        };
        let none = CompressionPolicy {
            gzip: false,
            zstd: false,
        };
        let cases: &[(Option<&str>, CompressionPolicy, Encoding)] = &[
            (None, both, Encoding::Identity),
            (Some("gzip"), both, Encoding::Gzip),
            (Some("gzip"), none, Encoding::Identity),
            (Some("br, gzip;q=0.5"), both, Encoding::Gzip),
            (Some("gzip;q=0"), both, Encoding::Identity),
            (Some("identity"), both, Encoding::Identity),
            (Some("zstd"), both, Encoding::Zstd),
            (Some("zstd"), gzip_only, Encoding::Identity),
            (Some("zstd,gzip"), gzip_only, Encoding::Gzip),
            // Equal q: the smaller body.
            (Some("gzip, zstd"), both, Encoding::Zstd),
            (Some("zstd;q=0.5, gzip"), both, Encoding::Gzip),
            (Some("gzip;q=0.4, identity;q=0.9"), both, Encoding::Identity),
            (Some("gzip;q=0.4, identity;q=0"), both, Encoding::Gzip),
            (Some("*"), both, Encoding::Zstd),
            (Some("*;q=0.3, gzip;q=0"), both, Encoding::Zstd),
            (Some("*;q=0"), gzip_only, Encoding::Identity),
            (Some("GZIP;Q=1"), gzip_only, Encoding::Gzip),
            (Some("gzip;q=bogus"), both, Encoding::Identity),
        ];
        for &(header, policy, want) in cases {
            assert_eq!(
                negotiate_encoding(header, policy),
                want,
                "{header:?} {policy:?}"
            );
        }
    }

    #[test]
    fn query_filters() {
        let request = render_request(
            ExpositionFormat::Text,
            Some("resources=pods,nodes&exclude_resources=nodes&resources=services&x=1"),
        );
        let include: BTreeSet<String> = ["nodes", "pods", "services"].map(String::from).into();
        assert_eq!(request.include, Some(include));
        assert_eq!(request.exclude, BTreeSet::from(["nodes".to_string()]));
        assert!(request.wants("pods"));
        assert!(!request.wants("nodes"));
        assert!(!request.wants("configmaps"));
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let request = render_request(ExpositionFormat::Text, Some("resources=pods%2Cnodes"));
        assert!(request.wants("nodes"));
        assert_eq!(percent_decode("a%zzb%4"), "a%zzb%4");
    }

    #[test]
    fn no_query_wants_everything() {
        let request = render_request(ExpositionFormat::Text, None);
        assert_eq!(request.include, None);
        assert!(request.exclude.is_empty());
    }
}
