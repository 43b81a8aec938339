//! Reads typed values out of the raw JSON object while collecting every problem, so a bad
//! configuration is reported in one go instead of one error per Envoy restart.

use serde_json::{Map, Value};

/// Walks the configuration object, remembering which keys were read and what was wrong.
pub struct Reader<'a> {
    object: &'a Map<String, Value>,
    read: Vec<&'static str>,
    /// Every problem found so far, each naming the option and the offending value.
    pub problems: Vec<String>,
}

impl<'a> Reader<'a> {
    /// Start reading `object`.
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Reader {
            object,
            read: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.read.push(key);
        match self.object.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// The raw JSON value of an option (for structured options).
    pub fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.get(key)
    }

    /// Record a problem with option `key`.
    pub fn problem(&mut self, key: &str, message: impl AsRef<str>) {
        self.problems.push(format!("{key}: {}", message.as_ref()));
    }

    /// Optional string.
    pub fn opt_string(&mut self, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(text) => Some(text.clone()),
            other => {
                self.problem(key, format!("expected a string, got {}", describe(other)));
                None
            }
        }
    }

    /// String with a default.
    pub fn string(&mut self, key: &'static str, default: &str) -> String {
        self.opt_string(key).unwrap_or_else(|| default.to_string())
    }

    /// Required, non-empty string.
    pub fn required_string(&mut self, key: &'static str) -> String {
        match self.opt_string(key) {
            Some(text) if !text.trim().is_empty() => text,
            Some(_) => {
                self.problem(key, "must not be empty");
                String::new()
            }
            None => {
                if !self
                    .problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{key}:")))
                {
                    self.problem(key, "is required");
                }
                String::new()
            }
        }
    }

    /// Boolean with a default. Strings "true"/"false" are accepted because TOML-to-JSON
    /// conversions and Istio `pluginConfig` templating often quote them.
    pub fn bool(&mut self, key: &'static str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) if text == "true" => true,
            Some(Value::String(text)) if text == "false" => false,
            Some(other) => {
                self.problem(
                    key,
                    format!("expected true or false, got {}", describe(other)),
                );
                default
            }
        }
    }

    /// A string or a list of strings (oauth2-proxy accepts both for list options). A single
    /// string is one element; it is not split on commas.
    pub fn list(&mut self, key: &'static str) -> Vec<String> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(text) => out.push(text.clone()),
                        other => self.problem(
                            key,
                            format!("list items must be strings, got {}", describe(other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    key,
                    format!("expected a string or a list, got {}", describe(other)),
                );
                Vec::new()
            }
        }
    }

    /// An object of string values (used for `clusters`).
    pub fn string_map(&mut self, key: &'static str) -> Vec<(String, String)> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Object(map)) => {
                let mut out = Vec::with_capacity(map.len());
                for (name, value) in map {
                    match value {
                        Value::String(text) => out.push((name.clone(), text.clone())),
                        other => self.problem(
                            key,
                            format!(
                                "value for {name:?} must be a string, got {}",
                                describe(other)
                            ),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(key, format!("expected an object, got {}", describe(other)));
                Vec::new()
            }
        }
    }

    /// A Go-style duration in milliseconds.
    pub fn duration_ms(&mut self, key: &'static str, default: &str) -> u64 {
        let text = match self.get(key) {
            None => default.to_string(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => {
                self.problem(
                    key,
                    format!("expected a duration like \"15m\", got {}", describe(other)),
                );
                return super::duration::parse_millis(default).unwrap_or(0);
            }
        };
        match super::duration::parse_millis(&text) {
            Some(ms) => ms,
            None => {
                self.problem(
                    key,
                    format!("{text:?} is not a duration like \"168h\" or \"15m\""),
                );
                super::duration::parse_millis(default).unwrap_or(0)
            }
        }
    }

    /// Every key asked for so far.
    pub fn read_keys(&self) -> Vec<&'static str> {
        self.read.clone()
    }

    /// Keys present in the object that no reader asked for.
    pub fn unread_keys(&self) -> Vec<&'a str> {
        self.object
            .keys()
            .map(String::as_str)
            .filter(|key| !self.read.contains(key))
            .collect()
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => format!("{flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("{text:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}
