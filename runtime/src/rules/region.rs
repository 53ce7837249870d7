//! The interval algebra behind the rule checks: a condition as the region of users it can match
//! (a box: each feature, score or event count in an `Interval`, personas in a set, facts fixed or
//! free), exact or an over-estimate. `validate` uses it to find rules that can never match, that
//! overlap at one priority, or that an earlier rule always shadows.

use std::collections::{BTreeMap, BTreeSet};

use super::describe::{cmp_text, event_text, window_text};
use super::model::{Cmp, Condition, EventMatch, Window};
use super::validate::Known;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Dim {
    Feature(String),
    Event(EventMatch, Window),
    Score(String),
}

impl Dim {
    fn text(&self) -> String {
        match self {
            Dim::Feature(f) | Dim::Score(f) => f.clone(),
            Dim::Event(e, w) => format!("{} {}", event_text(e), window_text(*w)),
        }
    }
}

/// An interval with open or closed ends.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interval {
    lo: f64,
    lo_in: bool,
    hi: f64,
    hi_in: bool,
}

impl Interval {
    const FULL: Interval = Interval {
        lo: f64::NEG_INFINITY,
        lo_in: false,
        hi: f64::INFINITY,
        hi_in: false,
    };

    /// The values a comparison accepts; counts are whole numbers from 0.
    fn of(cmp: Cmp, count: bool) -> Interval {
        let f = Interval::FULL;
        let iv = match cmp {
            Cmp::Gt(t) => Interval { lo: t, ..f },
            Cmp::Ge(t) => Interval {
                lo: t,
                lo_in: true,
                ..f
            },
            Cmp::Lt(t) => Interval { hi: t, ..f },
            Cmp::Le(t) => Interval {
                hi: t,
                hi_in: true,
                ..f
            },
            Cmp::Eq(t) => Interval {
                lo: t,
                lo_in: true,
                hi: t,
                hi_in: true,
            },
            Cmp::Between(a, b) => Interval {
                lo: a,
                lo_in: true,
                hi: b,
                hi_in: true,
            },
        };
        if !count {
            return iv;
        }
        // Whole numbers: tighten to closed integer bounds, at least 0.
        let lo = if iv.lo_in {
            iv.lo.ceil()
        } else {
            iv.lo.floor() + 1.0
        }
        .max(0.0);
        let hi = if iv.hi_in {
            iv.hi.floor()
        } else {
            iv.hi.ceil() - 1.0
        };
        Interval {
            lo,
            lo_in: true,
            hi,
            hi_in: hi.is_finite(),
        }
    }

    fn is_empty(&self) -> bool {
        self.lo > self.hi || (self.lo == self.hi && !(self.lo_in && self.hi_in))
    }

    fn meet(&self, o: &Interval) -> Interval {
        let (lo, lo_in) = if self.lo > o.lo {
            (self.lo, self.lo_in)
        } else if o.lo > self.lo {
            (o.lo, o.lo_in)
        } else {
            (self.lo, self.lo_in && o.lo_in)
        };
        let (hi, hi_in) = if self.hi < o.hi {
            (self.hi, self.hi_in)
        } else if o.hi < self.hi {
            (o.hi, o.hi_in)
        } else {
            (self.hi, self.hi_in && o.hi_in)
        };
        Interval {
            lo,
            lo_in,
            hi,
            hi_in,
        }
    }

    fn hull(&self, o: &Interval) -> Interval {
        let (lo, lo_in) = if self.lo < o.lo {
            (self.lo, self.lo_in)
        } else if o.lo < self.lo {
            (o.lo, o.lo_in)
        } else {
            (self.lo, self.lo_in || o.lo_in)
        };
        let (hi, hi_in) = if self.hi > o.hi {
            (self.hi, self.hi_in)
        } else if o.hi > self.hi {
            (o.hi, o.hi_in)
        } else {
            (self.hi, self.hi_in || o.hi_in)
        };
        Interval {
            lo,
            lo_in,
            hi,
            hi_in,
        }
    }

    fn within(&self, o: &Interval) -> bool {
        let lo_ok = self.lo > o.lo || (self.lo == o.lo && (o.lo_in || !self.lo_in));
        let hi_ok = self.hi < o.hi || (self.hi == o.hi && (o.hi_in || !self.hi_in));
        lo_ok && hi_ok
    }
}

/// A box of users: each constrained dimension in an interval (a constrained feature is also not
/// missing), personas in a set, facts fixed or free. `empty` says why no user fits.
#[derive(Debug, Clone)]
pub(super) struct Region {
    personas: BTreeSet<String>,
    dims: BTreeMap<Dim, Interval>,
    returning: Option<bool>,
    consent: Option<bool>,
    pub(super) empty: Option<String>,
}

pub(super) struct RegionEstimate {
    pub(super) region: Region,
    pub(super) exact: bool,
}

impl Region {
    fn all(known: &Known) -> Region {
        Region {
            personas: known.personas.iter().map(|(i, _)| i.to_string()).collect(),
            dims: BTreeMap::new(),
            returning: None,
            consent: None,
            empty: None,
        }
    }

    fn none(why: String, known: &Known) -> Region {
        Region {
            empty: Some(why),
            ..Region::all(known)
        }
    }

    fn and(mut self, o: &Region) -> Region {
        if self.empty.is_some() {
            return self;
        }
        if o.empty.is_some() {
            return o.clone();
        }
        self.personas = self.personas.intersection(&o.personas).cloned().collect();
        if self.personas.is_empty() {
            self.empty = Some("no persona satisfies every persona condition".into());
            return self;
        }
        for (d, iv) in &o.dims {
            let m = match self.dims.get(d) {
                Some(mine) => mine.meet(iv),
                None => *iv,
            };
            if m.is_empty() {
                self.empty = Some(format!("the bounds on {} contradict each other", d.text()));
                return self;
            }
            self.dims.insert(d.clone(), m);
        }
        for (mine, theirs, what) in [
            (&mut self.returning, o.returning, "returning and first-time"),
            (&mut self.consent, o.consent, "with and without consent"),
        ] {
            match (*mine, theirs) {
                (Some(a), Some(b)) if a != b => {
                    self.empty = Some(format!("a user cannot be both {what}"));
                    break;
                }
                (None, Some(b)) => *mine = Some(b),
                _ => {}
            }
        }
        self
    }

    fn or(self, o: &Region) -> Region {
        if self.empty.is_some() {
            return o.clone();
        }
        if o.empty.is_some() {
            return self;
        }
        Region {
            personas: self.personas.union(&o.personas).cloned().collect(),
            dims: self
                .dims
                .iter()
                .filter_map(|(d, iv)| o.dims.get(d).map(|o| (d.clone(), iv.hull(o))))
                .collect(),
            returning: self.returning.filter(|r| Some(*r) == o.returning),
            consent: self.consent.filter(|r| Some(*r) == o.consent),
            empty: None,
        }
    }

    /// Some user may lie in both.
    pub(super) fn meets(&self, o: &Region) -> bool {
        self.clone().and(o).empty.is_none()
    }

    /// Every user of `self` lies in `o`.
    pub(super) fn inside(&self, o: &Region) -> bool {
        self.personas.is_subset(&o.personas)
            && o.dims
                .iter()
                .all(|(d, iv)| self.dims.get(d).is_some_and(|mine| mine.within(iv)))
            && [(self.returning, o.returning), (self.consent, o.consent)]
                .iter()
                .all(|(a, b)| b.is_none() || a == b)
    }
}

pub(super) fn region(c: &Condition, known: &Known) -> RegionEstimate {
    let all = || Region::all(known);
    let dim = |d: Dim, cmp: Cmp, count: bool, label: String| {
        let iv = Interval::of(cmp, count);
        if iv.is_empty() {
            Region::none(format!("{label} {} is impossible", cmp_text(cmp)), known)
        } else {
            let mut r = all();
            r.dims.insert(d, iv);
            r
        }
    };
    let exact = |region| RegionEstimate {
        region,
        exact: true,
    };
    match c {
        Condition::Always => exact(all()),
        Condition::PersonaIn(ids) => {
            let mut r = all();
            r.personas.retain(|p| ids.contains(p));
            if r.personas.is_empty() {
                r.empty = Some("the persona list is empty".into());
            }
            exact(r)
        }
        Condition::PersonaNotIn(ids) => {
            let mut r = all();
            r.personas.retain(|p| !ids.contains(p));
            if r.personas.is_empty() {
                r.empty = Some("every persona is excluded".into());
            }
            exact(r)
        }
        Condition::Feature(f, cmp) => exact(dim(Dim::Feature(f.clone()), *cmp, false, f.clone())),
        Condition::Score(s, cmp) => exact(dim(Dim::Score(s.clone()), *cmp, false, s.clone())),
        Condition::EventCount(e, w, cmp) => exact(dim(
            Dim::Event(e.clone(), *w),
            *cmp,
            true,
            format!("{} {}", event_text(e), window_text(*w)),
        )),
        Condition::Returning(b) => exact(Region {
            returning: Some(*b),
            ..all()
        }),
        Condition::Consent(b) => exact(Region {
            consent: Some(*b),
            ..all()
        }),
        Condition::All(cs) => {
            let mut acc = exact(all());
            for c in cs {
                let a = region(c, known);
                acc.exact &= a.exact;
                acc.region = acc.region.and(&a.region);
            }
            acc
        }
        Condition::Any(cs) => {
            let mut acc = RegionEstimate {
                region: Region::none(
                    "every alternative of an `any` is impossible (or it has none)".into(),
                    known,
                ),
                exact: true,
            };
            let mut live = 0;
            for c in cs {
                let a = region(c, known);
                if a.region.empty.is_none() {
                    live += 1;
                    acc.exact &= a.exact;
                }
                acc.region = acc.region.or(&a.region);
            }
            // A union of two boxes is generally not a box.
            acc.exact &= live <= 1;
            acc
        }
        Condition::Not(inner) => match inner.as_ref() {
            Condition::Not(c) => region(c, known),
            Condition::PersonaIn(ids) => region(&Condition::PersonaNotIn(ids.clone()), known),
            Condition::PersonaNotIn(ids) => region(&Condition::PersonaIn(ids.clone()), known),
            Condition::Returning(b) => region(&Condition::Returning(!b), known),
            Condition::Consent(b) => region(&Condition::Consent(!b), known),
            Condition::Always => exact(Region::none("`not always` is never true".into(), known)),
            // Complements of intervals are unions, and a missing feature fails a comparison (so its
            // negation holds): no box describes these exactly; every user may match.
            _ => RegionEstimate {
                region: all(),
                exact: false,
            },
        },
    }
}
