//! Metrics with Envoy's id scheme and update rules (`Context::defineMetric` and friends).

use crate::abi::{MetricKind, Status};
use std::collections::HashMap;

/// Envoy keeps the metric kind in the low two bits of every id and steps ids by 4.
const KIND_MASK: u32 = 0x3;
const ID_STEP: u32 = 4;

/// A metric as the filter defined it, with its current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The name passed to `define_metric` (Envoy shows it under the `wasmcustom.` prefix).
    pub name: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Counter total or gauge value; 0 for histograms.
    pub value: u64,
    /// Every value recorded into a histogram, in order; empty for other kinds.
    pub samples: Vec<u64>,
}

/// All metrics of one host. Defining the same name twice yields a new id for the same stat, as
/// Envoy's stats scope does.
#[derive(Debug)]
pub(crate) struct Metrics {
    stats: Vec<Metric>,
    ids: HashMap<u32, usize>,
    /// Last id handed out per kind; starts at the kind's value, so the first counter is 4.
    last_id: [u32; 3],
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            stats: Vec::new(),
            ids: HashMap::new(),
            last_id: [0, 1, 2],
        }
    }
}

impl Metrics {
    /// `proxy_define_metric`: returns the new id.
    pub(crate) fn define(&mut self, kind: MetricKind, name: &str) -> u32 {
        let index = match self
            .stats
            .iter()
            .position(|m| m.kind == kind && m.name == name)
        {
            Some(index) => index,
            None => {
                self.stats.push(Metric {
                    name: name.to_string(),
                    kind,
                    value: 0,
                    samples: Vec::new(),
                });
                self.stats.len() - 1
            }
        };
        let slot = match kind {
            MetricKind::Counter => &mut self.last_id[0],
            MetricKind::Gauge => &mut self.last_id[1],
            MetricKind::Histogram => &mut self.last_id[2],
        };
        *slot = slot.wrapping_add(ID_STEP);
        let id = *slot;
        self.ids.insert(id, index);
        id
    }

    /// `proxy_increment_metric`: counters take only positive offsets; gauges move either way;
    /// histograms cannot be incremented.
    pub(crate) fn increment(&mut self, id: u32, offset: i64) -> Status {
        let Some(metric) = self.by_id(id) else {
            return unknown_id_status(id);
        };
        match metric.kind {
            MetricKind::Counter if offset > 0 => {
                metric.value = metric.value.saturating_add(offset.unsigned_abs());
                Status::Ok
            }
            MetricKind::Gauge if offset >= 0 => {
                metric.value = metric.value.saturating_add(offset.unsigned_abs());
                Status::Ok
            }
            MetricKind::Gauge => {
                metric.value = metric.value.saturating_sub(offset.unsigned_abs());
                Status::Ok
            }
            MetricKind::Counter | MetricKind::Histogram => Status::BadArgument,
        }
    }

    /// `proxy_record_metric`: adds to a counter, sets a gauge, records a histogram sample.
    pub(crate) fn record(&mut self, id: u32, value: u64) -> Status {
        let Some(metric) = self.by_id(id) else {
            return Status::NotFound;
        };
        match metric.kind {
            MetricKind::Counter => metric.value = metric.value.saturating_add(value),
            MetricKind::Gauge => metric.value = value,
            MetricKind::Histogram => metric.samples.push(value),
        }
        Status::Ok
    }

    /// `proxy_get_metric`: counters and gauges only.
    pub(crate) fn get(&mut self, id: u32) -> Result<u64, Status> {
        let Some(metric) = self.by_id(id) else {
            return Err(unknown_id_status(id));
        };
        match metric.kind {
            MetricKind::Counter | MetricKind::Gauge => Ok(metric.value),
            MetricKind::Histogram => Err(Status::BadArgument),
        }
    }

    /// The first metric named `name`, of any kind.
    pub(crate) fn by_name(&self, name: &str) -> Option<&Metric> {
        self.stats.iter().find(|m| m.name == name)
    }

    /// All metrics in definition order.
    pub(crate) fn all(&self) -> &[Metric] {
        &self.stats
    }

    fn by_id(&mut self, id: u32) -> Option<&mut Metric> {
        let index = *self.ids.get(&id)?;
        self.stats.get_mut(index)
    }
}

/// Envoy answers an unknown id by the kind its low bits name: `NotFound` for counter and gauge
/// ids, `BadArgument` otherwise.
fn unknown_id_status(id: u32) -> Status {
    match id & KIND_MASK {
        0 | 1 => Status::NotFound,
        _ => Status::BadArgument,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_envoy_and_carry_the_kind() {
        let mut metrics = Metrics::default();
        assert_eq!(metrics.define(MetricKind::Counter, "a"), 4);
        assert_eq!(metrics.define(MetricKind::Counter, "b"), 8);
        assert_eq!(metrics.define(MetricKind::Gauge, "g"), 5);
        assert_eq!(metrics.define(MetricKind::Histogram, "h"), 6);
        assert_eq!(metrics.define(MetricKind::Histogram, "h2"), 10);
    }

    #[test]
    fn updates_follow_envoy() {
        let mut m = Metrics::default();
        let counter = m.define(MetricKind::Counter, "c");
        let gauge = m.define(MetricKind::Gauge, "g");
        let histogram = m.define(MetricKind::Histogram, "h");
        let cases: [(&str, Status, Status); 9] = [
            ("counter +2", m.increment(counter, 2), Status::Ok),
            (
                "counter +0 is rejected",
                m.increment(counter, 0),
                Status::BadArgument,
            ),
            (
                "counter -1 is rejected",
                m.increment(counter, -1),
                Status::BadArgument,
            ),
            ("counter record adds 3", m.record(counter, 3), Status::Ok),
            ("gauge set 10", m.record(gauge, 10), Status::Ok),
            ("gauge -4", m.increment(gauge, -4), Status::Ok),
            ("histogram sample", m.record(histogram, 42), Status::Ok),
            (
                "histogram increment",
                m.increment(histogram, 1),
                Status::BadArgument,
            ),
            ("unknown counter id", m.record(400, 1), Status::NotFound),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(m.get(counter), Ok(5));
        assert_eq!(m.get(gauge), Ok(6));
        assert_eq!(m.get(histogram), Err(Status::BadArgument));
        assert_eq!(m.get(404), Err(Status::NotFound));
        assert_eq!(m.get(406), Err(Status::BadArgument));
        assert_eq!(m.by_name("h").map(|h| h.samples.clone()), Some(vec![42]));
    }

    #[test]
    fn redefining_a_name_shares_the_stat() {
        let mut m = Metrics::default();
        let first = m.define(MetricKind::Counter, "c");
        let second = m.define(MetricKind::Counter, "c");
        assert_ne!(first, second);
        assert_eq!(m.increment(first, 1), Status::Ok);
        assert_eq!(m.increment(second, 1), Status::Ok);
        assert_eq!(m.by_name("c").map(|c| c.value), Some(2));
        assert_eq!(m.all().len(), 1);
    }
}
