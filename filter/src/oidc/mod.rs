//! OpenID Connect: discovery, JWKS, ID-token validation and token-endpoint responses.
//!
//! Pure code: no host calls and no clock reads (`now` is an argument).

pub mod discovery;
pub mod error;
pub mod id_token;
pub mod issuer;
pub mod jwks;
mod jws;
pub mod token_response;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod test_support;

pub use discovery::{check_issuer, parse_discovery, ProviderMetadata};
pub use error::{OidcError, TokenEndpointError, TokenError};
pub use id_token::{validate_bearer_token, validate_id_token, Expectations, IdClaims, IssuerRule};
pub use issuer::authority_of;
pub use jwks::{parse_jwks, KeySet};
pub use jws::peek_kid;
pub use token_response::{
    authorization_code_form, parse_token_response, refresh_token_form, ClientCredential, IdpError,
    TokenResponse,
};
