//! Turns `ErrorReport`s into what the person sees: a full page, or for htmx requests a
//! notice swapped into the page's toast area. Internal details are logged here with the
//! request id and never reach the response.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::page::Page;
use crate::web::error::ErrorReport;

#[derive(Template, WebTemplate)]
#[template(path = "pages/error.html")]
struct ErrorPage {
    page: Page,
    report: ErrorReport,
    reference: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/toast.html")]
struct Toast {
    report: ErrorReport,
    reference: String,
}

pub async fn render_errors(request: Request, next: Next) -> Response {
    let htmx = request.headers().contains_key("hx-request");
    let reference = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut response = next.run(request).await;
    // Browsers follow a 303 inside htmx's request without telling it, so htmx is told to
    // change the whole page instead.
    if htmx && response.headers().contains_key("hx-redirect") {
        response.headers_mut().remove(axum::http::header::LOCATION);
        *response.status_mut() = axum::http::StatusCode::OK;
        return response;
    }
    let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
        return response;
    };
    if let Some(detail) = &report.detail {
        tracing::error!(request_id = %reference, error = %detail, "request failed");
    }
    let reference = if report.detail.is_some() {
        reference
    } else {
        String::new()
    };
    let status = report.status;
    let mut rendered = if htmx {
        let mut toast = Toast { report, reference }.into_response();
        let headers = toast.headers_mut();
        headers.insert("hx-retarget", HeaderValue::from_static("#toast"));
        headers.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
        toast
    } else {
        ErrorPage {
            page: Page::bare(),
            report,
            reference,
        }
        .into_response()
    };
    *rendered.status_mut() = status;
    rendered
}

/// What a handler that panicked answers: the generic error page, with the panic in the log.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    crate::web::error::AppError::Internal(anyhow::anyhow!("handler panicked: {what}"))
        .into_response()
}
