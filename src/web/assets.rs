//! Static files (GOV.UK Frontend, htmx, our CSS and JS) embedded in the binary. URLs carry
//! a version derived from the content of every file, so browsers may cache them forever
//! and relative imports between them keep working.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use crate::web::error::AppError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<_> = Static::iter().collect();
    names.sort();
    let mut hasher = Sha256::new();
    for name in names {
        if let Some(file) = Static::get(&name) {
            hasher.update(name.as_bytes());
            hasher.update(file.metadata.sha256_hash());
        }
    }
    let digest = hasher.finalize();
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
});

/// The current asset version, used in every asset URL.
pub fn asset_version() -> &'static str {
    &VERSION
}

pub async fn serve(Path((version, path)): Path<(String, String)>) -> Result<Response, AppError> {
    let file = Static::get(&path).ok_or(AppError::NotFound)?;
    let mime = file.metadata.mimetype();
    // A page from before a deployment may ask for the old version: serve what we have,
    // but do not let it be cached under the old name.
    let cache = if version == asset_version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(response)
}

/// Browsers ask for /favicon.ico whatever the page says; send them to the embedded icon.
pub async fn favicon() -> axum::response::Redirect {
    axum::response::Redirect::permanent(&format!("/static/{}/favicon.svg", asset_version()))
}
