//! The local embedding model: a deterministic stand-in that embeds text by feature hashing.
//!
//! Each lower-cased word, and each pair of adjacent words, is hashed (FNV-1a, 64-bit) to one of
//! `dimensions` buckets with a hashed sign; the vector is L2-normalised. Texts that share words get
//! similar vectors (cosine similarity grows with shared vocabulary), different texts get nearly
//! orthogonal ones, and the same text always gets the same vector — enough for retrieval tests and
//! benchmarks, with no semantics beyond shared words.

use unicode_segmentation::UnicodeSegmentation;

use super::{FNV1A_OFFSET_BASIS, fnv1a};

/// Bigrams weigh less than words so a shared word counts for more than a shared phrase position.
const BIGRAM_WEIGHT: f32 = 0.5;

/// Embeds `text` into a vector of `dimensions` floats (L2 norm 1, or all zeros for text without
/// words). `dimensions` of 0 gives an empty vector.
pub fn embed(text: &str, dimensions: usize) -> Vec<f32> {
    let mut vector = vec![0.0_f32; dimensions];
    if dimensions == 0 {
        return vector;
    }
    let words: Vec<String> = text.unicode_words().map(str::to_lowercase).collect();
    for word in &words {
        add_feature(&mut vector, word.as_bytes(), 1.0);
    }
    for pair in words.windows(2) {
        let bigram = format!("{} {}", pair[0], pair[1]);
        add_feature(&mut vector, bigram.as_bytes(), BIGRAM_WEIGHT);
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

fn add_feature(vector: &mut [f32], feature: &[u8], weight: f32) {
    let hash = fnv1a(FNV1A_OFFSET_BASIS, feature);
    let bucket = (hash % vector.len() as u64) as usize;
    let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
    vector[bucket] += sign * weight;
}

/// Cosine similarity of two vectors of the same length (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_have_the_requested_dimensions_and_unit_norm() {
        for dims in [256, 512, 1024, 1536] {
            let v = embed("The warranty lasts two years.", dims);
            assert_eq!(v.len(), dims);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }
    }

    #[test]
    fn the_same_text_always_gets_the_same_vector() {
        assert_eq!(embed("Hello world", 256), embed("Hello world", 256));
    }

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let query = embed("how long is the warranty", 1024);
        let related = embed("The warranty lasts two years from the date of purchase.", 1024);
        let unrelated = embed("Llamas are domesticated camelids from the Andes.", 1024);
        assert!(cosine(&query, &related) > cosine(&query, &unrelated) + 0.2);
    }

    #[test]
    fn text_without_words_is_the_zero_vector() {
        assert!(embed("  ... ", 256).iter().all(|x| *x == 0.0));
        assert!(embed("anything", 0).is_empty());
    }
}
