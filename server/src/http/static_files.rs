//! The web client's files: `index.html` at `/` and `/g/{group_id}`, and its own `css/` and
//! `js/` (not its tests, tools or node_modules).

use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// Adds the web client's routes, serving the files under `web_dir`.
pub fn routes<S: Clone + Send + Sync + 'static>(router: Router<S>, web_dir: &Path) -> Router<S> {
    let index = ServeFile::new(web_dir.join("index.html"));
    router
        .route_service("/", index.clone())
        .route_service("/g/{group_id}", index)
        // Only the client's own files are public: not its tests, tools or node_modules.
        .nest_service("/css", ServeDir::new(web_dir.join("css")))
        .nest_service("/js", ServeDir::new(web_dir.join("js")))
}
