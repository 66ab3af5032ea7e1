//! Exact top-k: the k best (score, id) pairs, ties broken by the smaller id,
//! so the answer is one well-defined list whatever the order of the input.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: u64,
    pub score: f32,
}

/// `Hit`s ordered best first: by score (higher or lower is better), then by id.
#[derive(Clone, Copy)]
struct Ranked {
    hit: Hit,
    higher_is_better: bool,
}

impl Ranked {
    /// Less means better.
    fn rank(&self, other: &Self) -> Ordering {
        let by_score = if self.higher_is_better {
            other.hit.score.total_cmp(&self.hit.score)
        } else {
            self.hit.score.total_cmp(&other.hit.score)
        };
        by_score.then(self.hit.id.cmp(&other.hit.id))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.rank(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    // The max-heap keeps the worst of the current best k on top.
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank(other)
    }
}

/// The best `k` hits seen so far. A hit that is plainly worse than the
/// current k-th is rejected on its score alone, so pushing a million
/// scores costs about a comparison each.
pub struct TopK {
    k: usize,
    higher_is_better: bool,
    heap: BinaryHeap<Ranked>,
}

impl TopK {
    pub fn new(k: usize, higher_is_better: bool) -> Self {
        TopK {
            k,
            higher_is_better,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    #[inline]
    pub fn push(&mut self, id: u64, score: f32) {
        // (-0.0 and 0.0 would be ordered apart by total_cmp.)
        let hit = Hit {
            id,
            score: score + 0.0,
        };
        if self.heap.len() < self.k {
            self.heap.push(Ranked {
                hit,
                higher_is_better: self.higher_is_better,
            });
            return;
        }
        let Some(mut worst) = self.heap.peek_mut() else {
            return; // k == 0
        };
        let w = worst.hit.score;
        let plainly_worse = if self.higher_is_better {
            hit.score < w
        } else {
            hit.score > w
        };
        if plainly_worse {
            return;
        }
        let r = Ranked {
            hit,
            higher_is_better: self.higher_is_better,
        };
        if r < *worst {
            *worst = r;
        }
    }

    /// Adds the hits of `other` (the best k of other rows): the best k of
    /// both, exactly what one pass over all the rows keeps.
    pub fn merge(&mut self, other: TopK) {
        for r in other.heap {
            self.push(r.hit.id, r.hit.score);
        }
    }

    /// The hits, best first.
    pub fn into_sorted(self) -> Vec<Hit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.hit)
            .collect()
    }
}

/// The best `k` of `hits`, best first.
pub fn top_k(hits: impl IntoIterator<Item = Hit>, k: usize, higher_is_better: bool) -> Vec<Hit> {
    let mut best = TopK::new(k, higher_is_better);
    for h in hits {
        best.push(h.id, h.score);
    }
    best.into_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hits(scores: &[f32]) -> Vec<Hit> {
        scores
            .iter()
            .enumerate()
            .map(|(i, &score)| Hit {
                id: i as u64,
                score,
            })
            .collect()
    }

    #[test]
    fn best_first_ties_by_id_and_k_beyond_the_input() {
        let h = hits(&[0.5, 0.9, 0.9, 0.1]);
        let ids = |v: Vec<Hit>| v.iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(ids(top_k(h.clone(), 3, true)), [1, 2, 0]);
        assert_eq!(ids(top_k(h.clone(), 2, false)), [3, 0]);
        assert_eq!(ids(top_k(h.clone(), 10, true)), [1, 2, 0, 3]);
        assert!(top_k(h, 0, true).is_empty());
    }

    proptest! {
        #[test]
        fn equals_a_full_sort(scores in proptest::collection::vec(0u8..8, 0..60), k in 0usize..70, high in any::<bool>()) {
            let scores: Vec<f32> = scores.into_iter().map(f32::from).collect();
            let mut sorted = hits(&scores);
            sorted.sort_by(|a, b| {
                let s = if high { b.score.total_cmp(&a.score) } else { a.score.total_cmp(&b.score) };
                s.then(a.id.cmp(&b.id))
            });
            sorted.truncate(k);
            // Any input order gives the same answer.
            let mut shuffled = hits(&scores);
            shuffled.reverse();
            prop_assert_eq!(top_k(shuffled.clone(), k, high), sorted.clone());
            // Split anywhere, searched apart and merged: the same answer.
            let cut = shuffled.len() / 3;
            let mut left = TopK::new(k, high);
            let mut right = TopK::new(k, high);
            shuffled[..cut].iter().for_each(|h| left.push(h.id, h.score));
            shuffled[cut..].iter().for_each(|h| right.push(h.id, h.score));
            left.merge(right);
            prop_assert_eq!(left.into_sorted(), sorted);
        }
    }
}
