//! The Rust side of benches/cluster.sh: one clustering task on a raw float64 file, timed without the read.
//! Prints `seconds result`.
//!
//!     cargo bench --bench cluster -- kmeans DATA.f64 K N_INIT
//!     cargo bench --bench cluster -- silhouette DATA.f64 LABELS.u32
//!     cargo bench --bench cluster -- ward DATA.f64

use std::time::Instant;

use persona_lab::cluster::{
    Hierarchical, KMeans, Linkage, Points, SilhouetteOptions, TsneParams, silhouette, tsne,
};
use persona_lab::job::Job;

fn load(path: &str) -> (Vec<f64>, usize, usize) {
    let bytes = std::fs::read(path).expect("read data");
    let n = u64::from_le_bytes(bytes[0..8].try_into().unwrap()) as usize;
    let d = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let data = bytes[16..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (data, n, d)
}

fn main() {
    // `cargo bench` appends `--bench`; ignore flags.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.len() < 2 {
        eprintln!("usage: cluster (kmeans DATA K N_INIT | silhouette DATA LABELS | ward DATA)");
        return;
    }
    let (data, n, d) = load(&args[1]);
    let p = Points::new(&data, n, d);
    let job = Job::silent();
    match args[0].as_str() {
        "kmeans" => {
            let k: usize = args[2].parse().unwrap();
            let n_init: usize = args[3].parse().unwrap();
            let t = Instant::now();
            let fit = KMeans::new(k).n_init(n_init).fit(&p, &job).unwrap();
            println!("{} {}", t.elapsed().as_secs_f64(), fit.inertia);
        }
        "silhouette" => {
            let labels: Vec<usize> = std::fs::read(&args[2])
                .unwrap()
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as usize)
                .collect();
            let k = labels.iter().max().unwrap() + 1;
            let t = Instant::now();
            let s = silhouette(&p, &labels, k, &SilhouetteOptions::default(), &job).unwrap();
            assert!(s.exact);
            println!("{} {}", t.elapsed().as_secs_f64(), s.mean);
        }
        "ward" => {
            let t = Instant::now();
            let fit = Hierarchical::new(Linkage::Ward).fit(&p, &job).unwrap();
            assert!(fit.sample.is_none());
            println!(
                "{} {}",
                t.elapsed().as_secs_f64(),
                fit.dendrogram.merges.last().unwrap().height
            );
        }
        "tsne" => {
            let rows: Vec<usize> = (0..5000.min(n)).collect();
            let sub = p.gather(&rows);
            let sp = Points::new(&sub, rows.len(), d);
            let t = Instant::now();
            let e = tsne(&sp, &TsneParams::default(), &job).unwrap();
            println!("{} {}", t.elapsed().as_secs_f64(), e.kl_divergence);
        }
        other => eprintln!("unknown task {other}"),
    }
}
