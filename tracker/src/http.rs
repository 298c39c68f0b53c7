//! The HTTP(S) tracker client: a thin reqwest shell around the query
//! builders and body parsers.

use crate::config::ClientConfig;
use crate::error::TrackerError;
use crate::request::{AnnounceRequest, announce_url, scrape_query_url, scrape_url};
use crate::response::{
    AnnounceResponse, ScrapeResponse, parse_announce_response, parse_scrape_response,
};

/// Builds the shared reqwest client: rustls, gzip, bounded redirects,
/// whole-request timeout.
pub(crate) fn build_client(config: &ClientConfig) -> Result<reqwest::Client, TrackerError> {
    reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::limited(config.max_redirects))
        .gzip(true)
        // Trackers are asked every half hour or so: a pooled connection
        // would only be closed by the tracker in between, and some
        // (opentracker) reset a reused one.
        .pool_max_idle_per_host(0)
        .user_agent(config.user_agent.clone())
        .build()
        .map_err(transport)
}

/// Maps a reqwest error, keeping its cause chain in the text.
///
/// The URL is left out: announce URLs often carry a private passkey.
fn transport(e: reqwest::Error) -> TrackerError {
    let e = e.without_url();
    if e.is_timeout() {
        return TrackerError::Timeout;
    }
    let mut text = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    TrackerError::Transport(text)
}

/// An HTTP or HTTPS tracker.
#[derive(Debug, Clone)]
pub struct HttpTracker {
    url: String,
    client: reqwest::Client,
    max_body: usize,
}

impl HttpTracker {
    /// A tracker at `url` with its own HTTP client.
    pub fn new(url: &str, config: &ClientConfig) -> Result<Self, TrackerError> {
        Ok(Self::with_client(url, build_client(config)?, config))
    }

    /// A tracker at `url` sharing `client` (which should come from the same
    /// config: its timeout, redirect and gzip settings apply).
    pub fn with_client(url: &str, client: reqwest::Client, config: &ClientConfig) -> Self {
        Self {
            url: url.to_owned(),
            client,
            max_body: config.max_body,
        }
    }

    /// The announce URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// GETs `url` and returns the body, at most `max_body` bytes. A non-2xx
    /// status is an error (a `failure reason` in its body wins).
    async fn get(&self, url: &str) -> Result<Vec<u8>, TrackerError> {
        let mut resp = self.client.get(url).send().await.map_err(transport)?;
        let limit = self.max_body;
        if resp
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(TrackerError::BodyTooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(TrackerError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let status = resp.status();
        if !status.is_success() {
            if let Err(TrackerError::Failure(reason)) = parse_announce_response(&body) {
                return Err(TrackerError::Failure(reason));
            }
            return Err(TrackerError::HttpStatus(status.as_u16()));
        }
        Ok(body)
    }

    /// Announces `req`.
    pub async fn announce(&self, req: &AnnounceRequest) -> Result<AnnounceResponse, TrackerError> {
        let body = self.get(&announce_url(&self.url, req)).await?;
        parse_announce_response(&body)
    }

    /// Scrapes `info_hashes` at the URL derived from the announce URL.
    pub async fn scrape(&self, info_hashes: &[[u8; 20]]) -> Result<ScrapeResponse, TrackerError> {
        let base = scrape_url(&self.url)?;
        let body = self.get(&scrape_query_url(&base, info_hashes)).await?;
        parse_scrape_response(&body)
    }
}
