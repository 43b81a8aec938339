//! Envoy's `/stats?format=json`, as a name → value map of counters and gauges.

use std::collections::BTreeMap;

/// The prefix Envoy puts before every metric a wasm module defines.
pub const WASM_PREFIX: &str = "wasmcustom.";

/// One snapshot of the counters and gauges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    values: BTreeMap<String, u64>,
}

impl Stats {
    /// Parses the admin endpoint's JSON: `{"stats":[{"name":…,"value":…},…,{"histograms":…}]}`.
    /// Histograms and text readouts are left out.
    pub fn parse_json(body: &str) -> Result<Stats, String> {
        let doc: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("stats are not JSON: {e}"))?;
        let list = doc["stats"]
            .as_array()
            .ok_or("stats JSON has no \"stats\" array")?;
        let values = list
            .iter()
            .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["value"].as_u64()?)))
            .collect();
        Ok(Stats { values })
    }

    /// A counter or gauge by its full name, if Envoy has it.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.values.get(name).copied()
    }

    /// A counter or gauge that must exist; panics listing the wasm metrics otherwise (a typo in a
    /// metric name must not read as zero).
    pub fn counter(&self, name: &str) -> u64 {
        self.get(name).unwrap_or_else(|| {
            panic!(
                "no stat named {name:?}; wasm metrics present: {:?}",
                self.with_prefix(WASM_PREFIX).collect::<Vec<_>>()
            )
        })
    }

    /// Every stat whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, u64)> + 'a {
        self.values
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), *v))
    }

    /// How many stats there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"stats":[
        {"name":"cluster.upstream.upstream_rq_total","value":3},
        {"name":"wasmcustom.entra_sign_in_total","value":1},
        {"name":"wasmcustom.entra_denied_total","value":0},
        {"name":"server.version_text","value":"1.40.0"},
        {"histograms":{"supported_quantiles":[0.5],"computed_quantiles":[]}}
    ]}"#;

    #[test]
    fn parses_counters_and_skips_histograms_and_text() {
        let s = Stats::parse_json(SAMPLE).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.get("cluster.upstream.upstream_rq_total"), Some(3));
        assert_eq!(s.counter("wasmcustom.entra_sign_in_total"), 1);
        assert_eq!(s.get("server.version_text"), None);
        let wasm: Vec<_> = s.with_prefix(WASM_PREFIX).collect();
        assert_eq!(
            wasm,
            [
                ("wasmcustom.entra_denied_total", 0),
                ("wasmcustom.entra_sign_in_total", 1)
            ]
        );
    }

    #[test]
    #[should_panic(expected = "wasmcustom.entra_denied_total")]
    fn missing_counter_panics_naming_what_exists() {
        Stats::parse_json(SAMPLE)
            .unwrap()
            .counter("wasmcustom.typo");
    }

    #[test]
    fn rejects_non_stats_json() {
        assert!(Stats::parse_json("[]").is_err());
        assert!(Stats::parse_json("not json").is_err());
    }
}
