//! Bodies of local replies: a small HTML page for people, JSON for programs. Both carry the
//! request id so a user's screenshot leads an operator to the log line.

/// Escape text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A minimal page. `action` is an optional (href, label) link, e.g. "Sign in again".
pub fn html(title: &str, message: &str, request_id: &str, action: Option<(&str, &str)>) -> String {
    let link = action
        .map(|(href, label)| {
            format!(
                "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                escape_html(href),
                escape_html(label)
            )
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
<style>body{{font-family:sans-serif;max-width:40em;margin:4em auto;color:#222}}\
.button{{display:inline-block;padding:.6em 1.2em;background:#0067b8;color:#fff;text-decoration:none}}\
small{{color:#777}}</style></head><body><h1>{title}</h1><p>{message}</p>{link}\
<p><small>Request ID: {id}</small></p></body></html>",
        title = escape_html(title),
        message = escape_html(message),
        id = escape_html(request_id),
    )
}

/// `{"error": …, "message": …, "request_id": …}`.
pub fn json(error: &str, message: &str, request_id: &str) -> String {
    serde_json::json!({ "error": error, "message": message, "request_id": request_id }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn pages_escape_everything_they_echo() {
        let page = html("T<", "m\"'&", "<script>", Some(("/x?a=1&b=\"", "Go")));
        assert!(page.contains("T&lt;"));
        assert!(page.contains("m&quot;&#39;&amp;"));
        assert!(page.contains("Request ID: &lt;script&gt;"));
        assert!(page.contains("href=\"/x?a=1&amp;b=&quot;\""));
        assert!(!page.contains("<script>"));
    }
}
