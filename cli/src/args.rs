//! A minimal `--flag value` / `--flag=value` / `--switch` parser: the CLI has three subcommands
//! and a handful of flags, not enough to carry an argument-parsing dependency.

use std::collections::BTreeMap;

/// Parsed flags of one subcommand.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flags {
    values: BTreeMap<String, String>,
    switches: Vec<String>,
}

impl Flags {
    /// Parse `args` where `valued` flags take a value and `switches` do not.
    pub fn parse(args: &[String], valued: &[&str], switches: &[&str]) -> Result<Flags, String> {
        let mut flags = Flags::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (body, None),
            };
            if valued.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => iter
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                if flags.values.insert(name.to_string(), value).is_some() {
                    return Err(format!("--{name} given twice"));
                }
            } else if switches.contains(&name) && inline.is_none() {
                flags.switches.push(name.to_string());
            } else {
                return Err(format!("unknown flag --{name}"));
            }
        }
        Ok(flags)
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `--name`, or an error naming it.
    pub fn require(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    /// Whether `--name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_switches_and_errors() {
        let flags = Flags::parse(
            &strings(&["--wasm", "a.wasm", "--out=dir", "--insecure"]),
            &["wasm", "out"],
            &["insecure"],
        )
        .unwrap();
        assert_eq!(flags.get("wasm"), Some("a.wasm"));
        assert_eq!(flags.get("out"), Some("dir"));
        assert!(flags.has("insecure"));
        assert_eq!(
            flags.require("variant").unwrap_err(),
            "--variant is required"
        );
        let cases: &[&[&str]] = &[
            &["--wasm"],
            &["--nope", "x"],
            &["positional"],
            &["--wasm", "a", "--wasm", "b"],
            &["--insecure=yes"],
        ];
        for args in cases {
            assert!(
                Flags::parse(&strings(args), &["wasm"], &["insecure"]).is_err(),
                "{args:?}"
            );
        }
    }
}
