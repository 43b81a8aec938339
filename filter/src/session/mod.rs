//! Browser session state: the encrypted session cookie (AEAD, compression, chunking), the CSRF
//! cookie that binds one sign-in attempt, and PKCE.

pub mod chunks;
pub mod crypto;
pub mod csrf;
pub mod model;
pub mod pkce;

pub use crypto::{CookieCipher, CookieError, NONCE_LEN};
pub use csrf::CsrfState;
pub use model::Session;
