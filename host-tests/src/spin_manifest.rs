//! Reads `spin.toml` the way Spin does for the one component it declares, so the gateway runs
//! the Spin app's own artifact with the variables and outbound hosts Spin would give it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::serve::outbound_origin;

/// An application variable of the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Its default, when it has one.
    pub default: Option<String>,
    /// Whether a value must be given.
    pub required: bool,
    /// Whether it is a secret.
    pub secret: bool,
}

/// What the manifest says about the app and its one component.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Application variables, by name.
    pub variables: BTreeMap<String, Variable>,
    /// The component's id.
    pub component: String,
    /// The component's Wasm file, relative to the manifest.
    pub source: String,
    /// The build command.
    pub build_command: String,
    /// Outbound hosts, templates unrendered.
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels.
    pub key_value_stores: Vec<String>,
    /// The component's variables: name → template over application variables.
    pub component_variables: BTreeMap<String, String>,
    /// HTTP routes of the component.
    pub routes: Vec<String>,
}

fn string(table: &toml::Table, key: &str) -> Option<String> {
    table.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

fn strings(table: &toml::Table, key: &str) -> Vec<String> {
    table
        .get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Manifest {
    /// Reads a manifest (version 2, one component).
    pub fn load(path: &Path) -> Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Manifest::parse(&text)
    }

    /// Parses manifest text.
    pub fn parse(text: &str) -> Result<Manifest> {
        let doc: toml::Table = text.parse().context("spin.toml is not TOML")?;
        if doc
            .get("spin_manifest_version")
            .and_then(|v| v.as_integer())
            != Some(2)
        {
            bail!("spin.toml: spin_manifest_version must be 2");
        }
        let mut variables = BTreeMap::new();
        if let Some(vars) = doc.get("variables").and_then(|v| v.as_table()) {
            for (name, v) in vars {
                let t = v
                    .as_table()
                    .ok_or_else(|| anyhow!("variable {name} is not a table"))?;
                let var = Variable {
                    default: string(t, "default"),
                    required: t.get("required").and_then(|v| v.as_bool()) == Some(true),
                    secret: t.get("secret").and_then(|v| v.as_bool()) == Some(true),
                };
                if var.required == var.default.is_some() {
                    bail!("variable {name}: give it either a default or required = true");
                }
                variables.insert(name.clone(), var);
            }
        }
        let components = doc
            .get("component")
            .and_then(|v| v.as_table())
            .ok_or_else(|| anyhow!("spin.toml declares no component"))?;
        let [(id, component)] = components.iter().collect::<Vec<_>>()[..] else {
            bail!("spin.toml must declare exactly one component");
        };
        let component = component
            .as_table()
            .ok_or_else(|| anyhow!("component {id} is not a table"))?;
        let build = component
            .get("build")
            .and_then(|v| v.as_table())
            .ok_or_else(|| anyhow!("component {id} has no build section"))?;
        let component_variables = component
            .get("variables")
            .and_then(|v| v.as_table())
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let routes = doc
            .get("trigger")
            .and_then(|t| t.get("http"))
            .and_then(|h| h.as_array())
            .map(|a| {
                a.iter()
                    .filter(|t| t.get("component").and_then(|c| c.as_str()) == Some(id))
                    .filter_map(|t| t.get("route").and_then(|r| r.as_str()).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Manifest {
            variables,
            component: id.clone(),
            source: string(component, "source")
                .ok_or_else(|| anyhow!("component {id} has no source"))?,
            build_command: string(build, "command")
                .ok_or_else(|| anyhow!("component {id} has no build command"))?,
            allowed_outbound_hosts: strings(component, "allowed_outbound_hosts"),
            key_value_stores: strings(component, "key_value_stores"),
            component_variables,
            routes,
        })
    }

    /// Application variable values: `given` (as `spin up --variable` or `SPIN_VARIABLE_*`
    /// would give them), else defaults; a required variable without a value is an error.
    pub fn application_values(
        &self,
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        for (name, var) in &self.variables {
            let value = match (given.get(name), &var.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => bail!("variable {name} is required and has no value"),
            };
            values.insert(name.clone(), value);
        }
        if let Some(unknown) = given.keys().find(|k| !self.variables.contains_key(*k)) {
            bail!("variable {unknown} is not declared in spin.toml");
        }
        Ok(values)
    }

    /// The component's variables, rendered from `given` application values.
    pub fn component_values(
        &self,
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        let app = self.application_values(given)?;
        self.component_variables
            .iter()
            .map(|(k, template)| Ok((k.clone(), render(template, &app)?)))
            .collect()
    }

    /// The outbound hosts, rendered from `given` application values, as
    /// `scheme://host:port` origins.
    pub fn outbound_origins(&self, given: &BTreeMap<String, String>) -> Result<Vec<String>> {
        let app = self.application_values(given)?;
        self.allowed_outbound_hosts
            .iter()
            .map(|h| outbound_origin(&render(h, &app)?))
            .collect()
    }
}

/// `{{ name }}` replaced by the named value.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| anyhow!("{template:?}: unclosed {{{{"))?;
        let name = after[..end].trim();
        let value = values
            .get(name)
            .ok_or_else(|| anyhow!("{template:?} names an unknown variable {name}"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}
