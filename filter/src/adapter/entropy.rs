//! Random bytes from the host: WASI `random_get` inside Envoy (BoringSSL's CSPRNG), or the
//! host-shim's pinned generator in native tests.

use crate::flow::entropy::{Entropy, EntropyError};

/// The host's randomness.
pub struct HostEntropy;

#[cfg(target_os = "wasi")]
impl Entropy for HostEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::getrandom(buf).map_err(|_| EntropyError)
    }
}

#[cfg(not(target_os = "wasi"))]
extern "C" {
    /// Provided by host-shim, the only native host, the way Envoy provides WASI `random_get`.
    fn proxy_shim_random_get(buf: *mut u8, len: usize) -> u32;
}

#[cfg(not(target_os = "wasi"))]
impl Entropy for HostEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        // SAFETY: the pointer and length describe `buf`, which is valid for writes.
        let status = unsafe { proxy_shim_random_get(buf.as_mut_ptr(), buf.len()) };
        if status == 0 {
            Ok(())
        } else {
            Err(EntropyError)
        }
    }
}
