//! Headers every HTTP answer carries, whatever route made it: a strict Content-Security-Policy
//! (the web client loads only its own files and opens only its own WebSocket), no MIME
//! sniffing, no referrer, no framing, a closed browsing-context group, no powerful features;
//! and `Cache-Control: no-store` on the API, whose answers carry secrets (a new group's links)
//! or a group's data (the exports).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The headers, built once from the server's public address.
#[derive(Debug)]
pub struct SecurityHeaders {
    policy: HeaderValue,
}

impl SecurityHeaders {
    /// `public_base` is the address pages are served from (`http://127.0.0.1:8080`); its
    /// WebSocket twin (`ws://127.0.0.1:8080`) is the one connection the pages may open beside
    /// their own origin.
    pub fn new(public_base: &str) -> SecurityHeaders {
        let websocket = public_base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self' {websocket}; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        SecurityHeaders {
            policy: HeaderValue::from_str(&policy).unwrap_or_else(|_| {
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")
            }),
        }
    }
}

/// The layer's step: answers the request, then adds the headers.
pub async fn add(
    State(headers): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    out.insert(header::CONTENT_SECURITY_POLICY, headers.policy.clone());
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    out.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    out.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    out.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ),
    );
    if api {
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
