//! `persona-lab inspect`: what the loader detects in an export, without writing anything.

use clap::Args;
use persona_lab::data;
use persona_lab::features::{self, catalogue, transform};

use super::args::{FeatureArgs, MappingArgs};
use super::features::{feature_config, transform_spec};
use persona_lab::summary;

#[derive(Debug, Args)]
pub struct InspectCmd {
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
}

pub fn run(cmd: &InspectCmd) -> Result<(), String> {
    let opts = cmd.mapping.load_options()?;
    let loaded = data::load(&cmd.mapping.input, &opts).map_err(|e| e.to_string())?;
    let cfg = feature_config(&cmd.features)?;
    let profile = features::compute_profile(&loaded, &cfg).map_err(|e| e.to_string())?;
    let users = summary::users_of(&loaded, &profile, &cfg);
    say_part!("{}", summary::load_summary(&loaded, users));
    let spec = transform_spec(&cmd.features, &profile)?;
    let fitted = transform::fit(&profile, &spec).map_err(|e| e.to_string())?;
    say_part!("{}", summary::profile_summary(&profile, &fitted));
    Ok(())
}

/// `persona-lab catalogue`: the feature catalogue with its formulas.
pub fn print_catalogue() {
    say!("{:<28}{:<12}definition", "feature", "kind");
    for d in catalogue::CATALOGUE {
        let default = if catalogue::DEFAULT_SET.contains(&d.id) {
            " [default]"
        } else {
            ""
        };
        say!(
            "{:<28}{:<12}{}{}",
            d.id,
            format!("{:?}", d.kind).to_lowercase(),
            d.formula,
            default
        );
    }
    say!(
        "{:<28}{:<12}events with that name, for the most frequent names (--top-events); the rest as count:other",
        "count:<event name>",
        "count"
    );
}
