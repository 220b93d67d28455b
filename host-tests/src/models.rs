//! How `mantle-host` shows models: the configuration's JSON field names, or a table.

use serde_json::{Value, json};

use crate::runtime::types::{Api, Modality, Model, ModelSource};

/// The configuration's spelling of an api.
pub fn api_name(api: Api) -> &'static str {
    match api {
        Api::OpenaiCompletions => "openai-completions",
        Api::AnthropicMessages => "anthropic-messages",
        Api::OpenaiResponses => "openai-responses",
    }
}

fn source_name(source: ModelSource) -> &'static str {
    match source {
        ModelSource::Discovered => "discovered",
        ModelSource::Configured => "configured",
        ModelSource::BuiltIn => "built-in",
    }
}

/// One model with the configuration's field names.
pub fn model_json(m: &Model) -> Value {
    let input: Vec<&str> = m
        .input
        .iter()
        .map(|i| match i {
            Modality::Text => "text",
            Modality::Image => "image",
        })
        .collect();
    json!({
        "id": m.id,
        "name": m.name,
        "api": api_name(m.api),
        "reasoning": m.reasoning,
        "input": input,
        "cost": {
            "input": m.cost.input,
            "output": m.cost.output,
            "cacheRead": m.cost.cache_read,
            "cacheWrite": m.cost.cache_write,
        },
        "contextWindow": m.context_window,
        "maxTokens": m.max_tokens,
    })
}

/// The array `models list --json` prints.
pub fn to_json(models: &[Model]) -> Value {
    Value::Array(models.iter().map(model_json).collect())
}

/// A readable table: id, api, reasoning, context, max tokens, source.
pub fn table(models: &[Model]) -> String {
    let header = ["ID", "API", "REASONING", "CONTEXT", "MAX TOKENS", "SOURCE"];
    let rows: Vec<[String; 6]> = models
        .iter()
        .map(|m| {
            [
                m.id.clone(),
                api_name(m.api).to_owned(),
                if m.reasoning { "yes" } else { "no" }.to_owned(),
                m.context_window.to_string(),
                m.max_tokens.to_string(),
                source_name(m.source).to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    if models.is_empty() {
        out.push_str("(no models)\n");
    }
    out
}
