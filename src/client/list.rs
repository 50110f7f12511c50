//! Paginated lists: `limit` + `continue`, restarted from scratch when the continue
//! token expires (HTTP 410), as client-go's pager does.

use crate::api::Object;

use super::decode::{decode_body, page_from_body, Format};
use super::request::{accept, view_query, with_query, Target};
use super::{ApiClient, ClientError};

/// How a list is made.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Page size (`limit`); 0 asks for everything at once.
    pub limit: u32,
    /// `resourceVersion=0`: served from the apiserver's watch cache (cheaper, may be
    /// slightly stale). Not used after a 410.
    pub use_apiserver_cache: bool,
    /// How many times an expired continue token may restart the list.
    pub max_restarts: u32,
    /// Longest wait for one page (kube sets no read timeout; a dead connection would
    /// otherwise hang the list forever).
    pub page_timeout: std::time::Duration,
}

impl Default for ListOptions {
    fn default() -> ListOptions {
        ListOptions {
            limit: 500,
            use_apiserver_cache: false,
            max_restarts: 3,
            page_timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// A complete list.
#[derive(Debug)]
pub struct ListOutcome {
    pub objects: Vec<Object>,
    /// The list's resourceVersion: where the watch starts.
    pub resource_version: String,
    pub pages: u32,
    /// Restarts caused by an expired continue token.
    pub restarts: u32,
    /// The format of the last page (what the server actually sent).
    pub format: Format,
}

/// What [`list_pages`] hands its caller while a list is under way.
#[derive(Debug)]
pub enum ListProgress {
    /// The continue token expired and the list starts over: forget the pages so far.
    Restarted,
    /// One page's objects, in order.
    Page(Vec<Object>),
}

/// How a completed list ended (its objects went to the callback).
#[derive(Debug)]
pub struct ListSummary {
    /// The list's resourceVersion: where the watch starts.
    pub resource_version: String,
    pub pages: u32,
    pub objects: usize,
    /// Restarts caused by an expired continue token.
    pub restarts: u32,
    /// The format of the last page (what the server actually sent).
    pub format: Format,
}

/// Lists every object of `target`, collecting all pages (tests and small lists; the
/// reflector uses [`list_pages`] so a large list is never held decoded at once).
pub async fn list_all(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    options: &ListOptions,
) -> Result<ListOutcome, ClientError> {
    let mut objects = Vec::new();
    let summary = list_pages(
        client,
        target,
        preferred,
        options,
        |progress| match progress {
            ListProgress::Restarted => objects.clear(),
            ListProgress::Page(page) => objects.extend(page),
        },
    )
    .await?;
    Ok(ListOutcome {
        objects,
        resource_version: summary.resource_version,
        pages: summary.pages,
        restarts: summary.restarts,
        format: summary.format,
    })
}

/// Lists every object of `target` page by page, handing each decoded page to
/// `on_progress` before the next is requested. Only one page is ever held (its body,
/// then its objects): this is what keeps the start-up peak near the steady state.
pub async fn list_pages(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    options: &ListOptions,
    mut on_progress: impl FnMut(ListProgress),
) -> Result<ListSummary, ClientError> {
    let accept = accept(target.resource, preferred, false);
    let path = target.collection_path();
    let limit = options.limit.to_string();
    let mut restarts = 0;
    let mut use_cache = options.use_apiserver_cache;
    'restart: loop {
        let mut continue_token: Option<String> = None;
        let mut pages = 0;
        let mut objects = 0;
        loop {
            let mut query: Vec<(&str, &str)> = view_query(target.resource).to_vec();
            query.extend(target.selector_query());
            if options.limit > 0 {
                query.push(("limit", &limit));
            }
            match &continue_token {
                Some(token) => query.push(("continue", token)),
                None if use_cache => query.push(("resourceVersion", "0")),
                None => {}
            }
            let url = with_query(&path, &query);
            let page = tokio::time::timeout(options.page_timeout, client.get_bytes(&url, &accept))
                .await
                .unwrap_or(Err(ClientError::IdleTimeout(options.page_timeout)));
            let (content_type, bytes) = match page {
                Ok(ok) => ok,
                Err(error)
                    if error.is_expired()
                        && continue_token.is_some()
                        && restarts < options.max_restarts =>
                {
                    tracing::info!(resource = %target.label(), %error, "continue token expired; restarting the list");
                    restarts += 1;
                    use_cache = false;
                    on_progress(ListProgress::Restarted);
                    continue 'restart;
                }
                Err(error) => return Err(error),
            };
            let format = Format::of_content_type(&content_type).unwrap_or(preferred);
            let page = match decode_body(&content_type, bytes.clone())
                .and_then(|body| page_from_body(target.resource, body))
            {
                Ok(page) => page,
                Err(source) => {
                    return Err(ClientError::Decode {
                        format: format.label(),
                        source,
                        bytes: super::kept_for_diagnosis(target.resource, bytes),
                    })
                }
            };
            // The body is only kept for a decode error's diagnosis; free it before the
            // objects travel on.
            drop(bytes);
            pages += 1;
            objects += page.objects.len();
            on_progress(ListProgress::Page(page.objects));
            match page.continue_token {
                Some(token) => continue_token = Some(token),
                None => {
                    return Ok(ListSummary {
                        resource_version: page.resource_version,
                        pages,
                        objects,
                        restarts,
                        format,
                    })
                }
            }
        }
    }
}
