//! Seeds of the redirect validator and the configuration parser.

use entra_proxy_wasm_fuzz::fixtures::{CONFIG_A_JSON, CONFIG_B_JSON};
use serde_json::json;

use crate::{Corpus, Result};

pub(crate) fn redirect_seeds(c: &Corpus) -> Result {
    let whitelist = "\0.example.com\0app.test:8443\0dev.test:*";
    let targets = [
        "/",
        "/dashboard?x=1#f",
        "//evil.com",
        "/\\evil.com",
        "/%2f%2fevil.com",
        "/%5cevil.com",
        "https://example.com/",
        "https://a.b.example.com/p",
        "HTTPS://App.Example.COM/",
        "https://app.test:8443/x",
        "https://app.test/",
        "http://dev.test:1234/",
        "https://example.com@evil.com/",
        "https://evil.com\\@example.com/",
        "https://evil.com#.example.com",
        "https://example.com.evil.com/",
        "https://evilexample.com/",
        "javascript:alert(1)",
        "https:evil.com",
        "https:/evil.com",
        "https://xn--exmple-cua.com/",
        "https://[::1]/",
        "https://0x7f.1/",
        "https://example.com:0443/",
        "/\t/evil.com",
        "https://EXAMPLE.com./",
    ];
    for (i, target) in targets.iter().enumerate() {
        c.put(
            "redirect",
            &format!("{i:02}"),
            format!("{target}{whitelist}"),
        )?;
    }
    c.put("redirect", "no-whitelist", "https://example.com/")?;
    Ok(())
}

pub(crate) fn config_seeds(c: &Corpus) -> Result {
    c.put("config", "a", CONFIG_A_JSON)?;
    c.put("config", "b", CONFIG_B_JSON)?;
    let wrong = json!({"provider":"google","client_id":"","cookie_secret":["short", 7],"cookie_expire":"ten days",
        "cookie_samesite":"sometimes","code_challenge_method":"plain","pass_user_headers":"yes","api_routes":["(", "a{99999}"],
        "http_address":"0.0.0.0:4180","allowed_groups":["g"],"not_an_option":1,"clusters":[],"http_timeout":"90s",
        "proxy_prefix":"oauth2/","cookie_path":"/;x","redirect_url":"ftp://x"});
    c.put("config", "every-problem", wrong.to_string())?;
    c.put("config", "not-object", "[1,2]")?;
    Ok(())
}
