//! The built-in local models: deterministic stand-ins for a chat model and an embedding model.

pub mod embedding;
pub mod extractive;

/// The standard 64-bit FNV-1a offset basis.
pub(crate) const FNV1A_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The 64-bit FNV-1a hash of `bytes` from `basis` ([`FNV1A_OFFSET_BASIS`], or another basis for a
/// second, independent hash of the same bytes). The local models and ids are deterministic by it.
pub(crate) fn fnv1a(basis: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(basis, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME))
}
