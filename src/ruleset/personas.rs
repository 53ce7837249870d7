//! Starting personas named from each segment's most distinctive features; strategists rename them.

use super::Persona;
use crate::cluster::ClusterProfile;

/// Starting personas for all segments, names made unique (a repeated name gets the segment number).
pub fn default_personas(profiles: &[ClusterProfile]) -> Vec<Persona> {
    let mut out: Vec<Persona> = profiles.iter().map(default_persona).collect();
    for i in 0..out.len() {
        if out[..i].iter().any(|p| p.name == out[i].name) {
            out[i].name = format!("{} (segment {})", out[i].name, out[i].segment);
        }
    }
    out
}

/// A starting persona for a segment, named from its most distinctive features (e.g. "High sessions,
/// low recency_days"); strategists rename it.
pub fn default_persona(p: &ClusterProfile) -> Persona {
    let traits: Vec<String> = p
        .top
        .iter()
        .filter(|(_, z)| z.abs() >= 0.25)
        .map(|(f, z)| {
            format!(
                "{} {f} (z = {z:+.2})",
                if *z > 0.0 { "high" } else { "low" }
            )
        })
        .collect();
    let name = match p
        .top
        .iter()
        .filter(|(_, z)| z.abs() >= 0.25)
        .take(2)
        .collect::<Vec<_>>()[..]
    {
        [] => format!("Segment {}", p.id),
        [(f, z)] => format!("{} {f}", if *z > 0.0 { "High" } else { "Low" }),
        [(f1, z1), (f2, z2), ..] => format!(
            "{} {f1}, {} {f2}",
            if *z1 > 0.0 { "High" } else { "Low" },
            if *z2 > 0.0 { "high" } else { "low" }
        ),
    };
    Persona {
        id: format!("segment_{}", p.id),
        segment: p.id,
        name,
        description: format!("{} users ({:.1}%)", p.size, 100.0 * p.share),
        traits,
        preferred_content: vec![],
    }
}
