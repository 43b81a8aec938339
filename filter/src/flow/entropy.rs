//! Randomness as an input, so tests can pin it and assert exact state, nonce and cookie values.

/// The host could not produce random bytes. Nothing secret may be generated without them, so the
/// request fails closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no randomness available from the host")]
pub struct EntropyError;

/// A source of cryptographically secure random bytes.
pub trait Entropy {
    /// Fill `buf` completely or fail.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// `N` random bytes.
pub fn bytes<const N: usize>(rng: &mut dyn Entropy) -> Result<[u8; N], EntropyError> {
    let mut out = [0u8; N];
    rng.fill(&mut out)?;
    Ok(out)
}
