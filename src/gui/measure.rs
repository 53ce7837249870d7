//! What the rule editor shows about the analysed users (how many a condition matches, the first one it
//! matches, a feature's distribution), measured on a worker. Each reads every user, so none is computed
//! on the window thread: a view looks an answer up, says "counting…" while there is none and asks for
//! it (`Action::Measure`); the app measures what was asked in one task at a time and keeps the answers
//! until the population changes. Imports no view.

use std::collections::HashMap;
use std::sync::Arc;

use persona_lab::features::distribution::FeatureHist;
use persona_lab::rules::{Condition, Population, population};

use super::app::PersonaApp;
use super::tasks::{Done, Kind};

/// A question about the analysed users.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// How many users a condition matches.
    Count(Condition),
    /// The first user (row) a condition matches: the explanation preview's user.
    FirstMatch(Condition),
    /// The distribution of a feature's values (1st to 99th percentile).
    Hist(String),
}

impl Measure {
    /// The question as text: conditions hold floats, so they are told apart by their printed form
    /// (the same text is the same condition).
    fn key(&self) -> String {
        format!("{self:?}")
    }

    fn answer(&self, pop: &Population) -> Answer {
        match self {
            Measure::Count(c) => Answer::Count(population::count(c, pop)),
            Measure::FirstMatch(c) => {
                Answer::FirstMatch(population::matches(c, pop).iter().position(|&m| m))
            }
            Measure::Hist(f) => Answer::Hist(
                pop.features
                    .get(f)
                    .and_then(|col| FeatureHist::of(col))
                    .map(Arc::new),
            ),
        }
    }
}

/// The answer to a `Measure` of the same kind.
#[derive(Debug, Clone)]
pub enum Answer {
    Count(usize),
    FirstMatch(Option<usize>),
    /// None: the feature has no finite value (or is not in the profile).
    Hist(Option<Arc<FeatureHist>>),
}

/// The answers for the current population, and the questions waiting for a worker.
#[derive(Default)]
pub struct Measured {
    answers: HashMap<String, Answer>,
    waiting: Vec<Measure>,
}

impl Measured {
    /// The answer, or None after adding the question to `asks` (sent by the view as one action).
    pub fn get(&self, m: Measure, asks: &mut Vec<Measure>) -> Option<Answer> {
        let a = self.answers.get(&m.key()).cloned();
        if a.is_none() && !asks.contains(&m) {
            asks.push(m);
        }
        a
    }

    pub fn count(&self, c: &Condition, asks: &mut Vec<Measure>) -> Option<usize> {
        match self.get(Measure::Count(c.clone()), asks) {
            Some(Answer::Count(n)) => Some(n),
            _ => None,
        }
    }

    pub fn first_match(&self, c: &Condition, asks: &mut Vec<Measure>) -> Option<Option<usize>> {
        match self.get(Measure::FirstMatch(c.clone()), asks) {
            Some(Answer::FirstMatch(u)) => Some(u),
            _ => None,
        }
    }

    pub fn hist(&self, feature: &str, asks: &mut Vec<Measure>) -> Option<Option<Arc<FeatureHist>>> {
        match self.get(Measure::Hist(feature.to_string()), asks) {
            Some(Answer::Hist(h)) => Some(h),
            _ => None,
        }
    }

    /// Forget every answer: the population they were measured on is gone.
    pub fn clear(&mut self) {
        *self = Measured::default();
    }
}

impl PersonaApp {
    /// Measure what a view asked for: now, in the background, or after the running measurement (the
    /// questions wait; one task at a time, so typing a threshold never cancels the counts on screen).
    pub fn measure(&mut self, asks: Vec<Measure>) {
        let m = &mut self.caches.measured;
        for a in asks {
            if !m.answers.contains_key(&a.key()) && !m.waiting.contains(&a) {
                m.waiting.push(a);
            }
        }
        if m.waiting.is_empty() || self.tasks.running(Kind::Measure) {
            return;
        }
        let Some(pop) = self.caches.population(&self.analysis) else {
            return;
        };
        let asks = std::mem::take(&mut self.caches.measured.waiting);
        self.spawn(
            Kind::Measure,
            "Counting matching users",
            move |job| {
                let mut out = Vec::with_capacity(asks.len());
                for a in asks {
                    job.check().map_err(|e| e.to_string())?;
                    let answer = a.answer(&pop);
                    out.push((a.key(), answer));
                }
                Ok((pop, out))
            },
            Done::Measured,
        );
    }

    /// Keep answers measured on the current population (a newer one makes them stale), then measure
    /// what was asked meanwhile.
    pub fn measured(&mut self, pop: Arc<Population>, answers: Vec<(String, Answer)>) {
        let current = self.caches.population(&self.analysis);
        if current.is_some_and(|p| Arc::ptr_eq(&p, &pop)) {
            self.caches.measured.answers.extend(answers);
        }
        self.measure(vec![]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_lab::rules::Cmp;

    fn pop() -> Population {
        let mut features = std::collections::BTreeMap::new();
        features.insert(
            "sessions".to_string(),
            vec![Some(1.0), Some(4.0), None, Some(7.0)],
        );
        Population::new(
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
            features,
            vec![0; 4],
            vec!["p0".into()],
            true,
        )
    }

    /// Each question is answered by the core function it stands for, and an unanswered one is asked
    /// once however often a frame looks it up.
    #[test]
    fn questions_are_answered_by_the_core_and_asked_once() {
        let p = pop();
        let more = Condition::Feature("sessions".into(), Cmp::Gt(3.0));
        match Measure::Count(more.clone()).answer(&p) {
            Answer::Count(n) => assert_eq!(n, population::count(&more, &p)),
            a => panic!("{a:?}"),
        }
        match Measure::FirstMatch(more.clone()).answer(&p) {
            Answer::FirstMatch(u) => assert_eq!(u, Some(1)),
            a => panic!("{a:?}"),
        }
        match Measure::Hist("sessions".into()).answer(&p) {
            Answer::Hist(Some(h)) => {
                assert_eq!(*h, FeatureHist::of(&p.features["sessions"]).unwrap())
            }
            a => panic!("{a:?}"),
        }
        assert!(matches!(
            Measure::Hist("nope".into()).answer(&p),
            Answer::Hist(None)
        ));

        let mut m = Measured::default();
        let mut asks = vec![];
        assert_eq!(m.count(&more, &mut asks), None);
        assert_eq!(m.count(&more, &mut asks), None);
        assert_eq!(asks, [Measure::Count(more.clone())]);
        m.answers.insert(asks[0].key(), Answer::Count(2));
        let mut asks = vec![];
        assert_eq!(m.count(&more, &mut asks), Some(2));
        assert!(asks.is_empty());
    }
}
