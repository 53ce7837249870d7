//! Agreement between two labellings of the same users: the adjusted Rand index (1 = identical up to
//! renaming, about 0 = chance), as scikit-learn's `adjusted_rand_score`.

use std::collections::HashMap;

pub fn adjusted_rand_index<A, B>(a: &[A], b: &[B]) -> f64
where
    A: std::hash::Hash + Eq,
    B: std::hash::Hash + Eq,
{
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let mut table: HashMap<(&A, &B), u64> = HashMap::new();
    let mut rows: HashMap<&A, u64> = HashMap::new();
    let mut cols: HashMap<&B, u64> = HashMap::new();
    for (x, y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let c2 = |v: u64| (v as f64) * (v as f64 - 1.0) / 2.0;
    let index: f64 = table.values().map(|&v| c2(v)).sum();
    let sa: f64 = rows.values().map(|&v| c2(v)).sum();
    let sb: f64 = cols.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / (n * (n - 1.0) / 2.0);
    let max = (sa + sb) / 2.0;
    if max == expected {
        // Both labellings trivial (one cluster, or all singletons): identical by convention.
        return 1.0;
    }
    (index - expected) / (max - expected)
}
