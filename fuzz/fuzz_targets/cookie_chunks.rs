//! Session cookie reassembly and opening: arbitrary cookie pairs, with pieces of real sealed
//! sessions the fuzzer can reorder, truncate, mix and rename, through `chunks::join`,
//! `chunks::present_names`, `CookieCipher::open` and `Session::open`.
//!
//! Property: whatever opens is exactly one of the sessions sealed here with the fixed key (the
//! fuzzer cannot forge one), and the independent AEAD oracle agrees it is alive.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use entra_proxy_wasm::session::chunks::{join, present_names, split};
use entra_proxy_wasm::session::{CookieCipher, Session};
use entra_proxy_wasm_fuzz::fixtures::{Variant, NOW, SECRET_B};
use entra_proxy_wasm_fuzz::oracle;
use libfuzzer_sys::fuzz_target;

const NAME: &str = "_oauth2_proxy";

#[derive(Arbitrary, Debug)]
enum CookieName {
    Session,
    Chunk(u8),
    Csrf,
    Upper,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum CookieValue {
    Raw(String),
    Known(u8),
    /// Piece `index` of known value `known` cut into 64-character pieces.
    Piece {
        known: u8,
        index: u8,
    },
    Slice {
        known: u8,
        start: u16,
        len: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    cookies: Vec<(CookieName, CookieValue)>,
    later: u32,
}

/// Sealed values: [0..3) open under configuration A, the rest must not.
fn known() -> &'static [String] {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let cipher = &Variant::A.config().cipher;
        let session = |user: &str, groups: usize, expires_at: u64| Session {
            user: user.to_string(),
            email: Some(format!("{user}@example.com")),
            groups: (0..groups).map(|i| format!("group-{i:04}")).collect(),
            created_at: NOW - 100,
            expires_at,
            ..Session::default()
        };
        let other_key = CookieCipher::new(&[SECRET_B.to_vec()]);
        vec![
            session("ada", 0, NOW + 3600).seal(cipher, NAME, [1; 24]),
            session("bob", 400, NOW + 3600).seal(cipher, NAME, [2; 24]),
            session("eve", 3, NOW + 1).seal(cipher, NAME, [3; 24]),
            session("old", 0, NOW).seal(cipher, NAME, [4; 24]),
            session("csrf", 0, NOW + 3600).seal(cipher, "_oauth2_proxy_csrf", [5; 24]),
            session("rotated", 0, NOW + 3600).seal(&other_key, NAME, [6; 24]),
        ]
    })
}

fn value(v: &CookieValue) -> String {
    let known = known();
    let pick = |i: &u8| &known[usize::from(*i) % known.len()];
    match v {
        CookieValue::Raw(s) => s.clone(),
        CookieValue::Known(i) => pick(i).clone(),
        CookieValue::Piece { known, index } => {
            let pieces = split("p", pick(known), 64);
            pieces[usize::from(*index) % pieces.len()].1.clone()
        }
        CookieValue::Slice { known, start, len } => {
            let s = pick(known);
            let start = usize::from(*start).min(s.len());
            let end = start.saturating_add(usize::from(*len)).min(s.len());
            s[start..end].to_string()
        }
    }
}

fn name(n: &CookieName) -> String {
    match n {
        CookieName::Session => NAME.to_string(),
        CookieName::Chunk(i) => format!("{NAME}_{i}"),
        CookieName::Csrf => format!("{NAME}_csrf"),
        CookieName::Upper => NAME.to_ascii_uppercase(),
        CookieName::Other(s) => s.clone(),
    }
}

fuzz_target!(|input: Input| {
    if input.cookies.len() > 200 {
        return;
    }
    let pairs: Vec<(String, String)> = input
        .cookies
        .iter()
        .map(|(n, v)| (name(n), value(v)))
        .collect();
    let cipher = &Variant::A.config().cipher;
    let secrets = Variant::A.secrets();

    for present in present_names(NAME, &pairs) {
        assert!(
            pairs.iter().any(|(n, _)| *n == present),
            "{present} was not sent"
        );
        let suffix = present.strip_prefix(NAME).unwrap_or("!");
        assert!(
            suffix.is_empty()
                || suffix
                    .strip_prefix('_')
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
            "{present} is not a session cookie name"
        );
    }
    for (_, v) in &pairs {
        if let Ok(plain) = cipher.open(NAME, v) {
            assert_eq!(Some(plain), oracle::unseal_raw(secrets, NAME, v));
        }
    }

    let Some(joined) = join(NAME, &pairs) else {
        return;
    };
    let now = NOW + u64::from(input.later % 7200);
    if let Ok(session) = Session::open(cipher, NAME, &joined, now) {
        assert!(now < session.expires_at);
        assert!(
            known()[..3].contains(&joined),
            "a session opened that was never sealed here"
        );
        assert!(oracle::live_session(secrets, NAME, &joined, now));
    }
});
