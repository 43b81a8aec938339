//! The HTML the emulator shows a browser: login form, error page, signed-out page, form_post.

use super::errors::{EntraError, ErrorIds};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// The sign-in form. `ctx` is the original authorize request, carried in a hidden field so the
/// post can be validated again from scratch (never trusting what the browser sends back).
pub fn login_form(action: &str, ctx: &str, username: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<div id=\"error\" role=\"alert\">{}</div>\n", escape(e)))
        .unwrap_or_default();
    page(
        "Sign in to your account",
        &format!(
            "<h1>Sign in</h1>\n{error}<form method=\"post\" action=\"{action}\">\n\
             <input type=\"hidden\" name=\"ctx\" value=\"{ctx}\">\n\
             <label for=\"username\">Email, phone, or Skype</label>\n\
             <input type=\"email\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\">\n\
             <label for=\"password\">Password</label>\n\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\n\
             <input type=\"submit\" id=\"submit\" value=\"Sign in\">\n</form>",
            action = escape(action),
            ctx = escape(ctx),
            username = escape(username),
        ),
    )
}

/// Entra's "Sorry, but we're having trouble signing you in" page.
pub fn error_page(error: &EntraError, ids: &ErrorIds) -> String {
    page(
        "Sign in to your account",
        &format!(
            "<h1>Sorry, but we're having trouble signing you in.</h1>\n\
             <p id=\"error-code\">AADSTS{}</p>\n<p id=\"error-message\">{}</p>\n\
             <pre id=\"error-details\">{}</pre>",
            error.code,
            escape(&format!("AADSTS{}: {}", error.code, error.message)),
            escape(&error.description(ids)),
        ),
    )
}

/// The page shown after logout when there is nowhere registered to go back to.
pub fn signed_out() -> String {
    page(
        "Sign out",
        "<h1 id=\"signed-out\">You signed out of your account</h1>\n<p>It's a good idea to close all browser windows.</p>",
    )
}

/// `response_mode=form_post`: an auto-submitting form that POSTs `fields` to `target`.
pub fn form_post(target: &str, fields: &[(String, String)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(k),
                escape(v)
            )
        })
        .collect();
    page(
        "Working...",
        &format!(
            "<form method=\"POST\" name=\"hiddenform\" action=\"{}\">\n{inputs}<noscript><input type=\"submit\" value=\"Continue\"></noscript>\n</form>\n\
             <script>document.forms[0].submit();</script>",
            escape(target)
        ),
    )
}

/// A plain 404 page.
pub fn not_found(path: &str) -> String {
    page(
        "Not found",
        &format!("<h1>Not found</h1><p>{}</p>", escape(path)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_table() {
        let cases = [
            ("plain", "plain"),
            ("<script>", "&lt;script&gt;"),
            ("a\"b'c&d", "a&quot;b&#39;c&amp;d"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want);
        }
    }

    #[test]
    fn login_form_has_the_ids_browser_tests_drive() {
        let html = login_form(
            "/t/oauth2/v2.0/authorize",
            "a=1&b=\"x\"",
            "al<ice",
            Some("AADSTS50126: bad"),
        );
        for needle in [
            "id=\"username\"",
            "id=\"password\"",
            "id=\"submit\"",
            "name=\"ctx\" value=\"a=1&amp;b=&quot;x&quot;\"",
            "value=\"al&lt;ice\"",
            "AADSTS50126: bad",
            "action=\"/t/oauth2/v2.0/authorize\"",
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
    }
}
