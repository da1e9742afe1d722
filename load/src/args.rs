//! The command line of `commons-load`: what to start, what to run, how long,
//! and where to write the JSON. Every refusal is a sentence naming the
//! argument; the caller prints it with [`USAGE`] and exits 2.

use std::path::PathBuf;

/// The usage text.
pub const USAGE: &str = "\
usage: commons-load --binary PATH [--engine fjall|sled|postgres] [--database-url URL]
                    [--clients LIST] [--seconds N] [--durability sync|buffered]
                    [--voters N] [--miss-set N] [--json FILE] [--scale [--members N]]

  --binary PATH        the release commons-gateway binary, built with the engine's feature
  --engine E           the engine that binary serves (checked against /v1/health); default fjall
  --database-url URL   postgres only: the database (required for postgres)
  --clients LIST       client counts, comma-separated, 1..=256 each; default 1,4,16,64
  --seconds N          seconds per scenario and client count, 1..=3600; default 5
  --durability D       the main server's durability (sync or buffered); default sync.
                       POST /v1/anchors is also run on a second server with the other one
  --voters N           Members set up to vote on each amendment, 1..=100000; default 2000
  --miss-set N         anchors the cache-miss reads pick from, 20000..=10000000; default 50000
  --json FILE          also write every result as JSON to FILE
  --scale              instead: the scale points (1,000 members beside --members N)
  --members N          with --scale: members to load, 1000..=100000000; default 1000000
";

/// Client counts accepted per run.
pub const MAX_CLIENTS: usize = 256;

/// The engines the tool can drive.
pub const ENGINES: &[&str] = &["fjall", "sled", "postgres"];

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The release server binary.
    pub binary: PathBuf,
    /// `fjall`, `sled` or `postgres`.
    pub engine: &'static str,
    /// The database of a postgres run.
    pub database_url: Option<String>,
    /// Client counts, in the order given, without repeats.
    pub clients: Vec<usize>,
    /// Seconds per scenario and client count.
    pub seconds: u64,
    /// The main server's durability: `sync` or `buffered`.
    pub durability: &'static str,
    /// Members that vote on each amendment.
    pub voters: usize,
    /// Anchors the cache-miss reads pick from.
    pub miss_set: usize,
    /// Where to write the JSON results.
    pub json: Option<PathBuf>,
    /// Run the scale points instead of the scenarios.
    pub scale: bool,
    /// Members of the large scale point.
    pub members: usize,
}

impl Options {
    /// The defaults for `binary`.
    fn defaults(binary: PathBuf) -> Self {
        Self {
            binary,
            engine: "fjall",
            database_url: None,
            clients: vec![1, 4, 16, 64],
            seconds: 5,
            durability: "sync",
            voters: 2000,
            miss_set: 50_000,
            json: None,
            scale: false,
            members: 1_000_000,
        }
    }
}

/// Parses the arguments (after the program name), each flag as `--flag
/// VALUE` or `--flag=VALUE`. `Ok(None)` for `--help`.
///
/// # Errors
/// A sentence naming the unknown argument, the missing value or the value
/// out of its range; `--binary` missing; `--database-url` given for a folder
/// engine or missing for postgres; `--members` without `--scale`.
pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut binary: Option<PathBuf> = None;
    let mut options = Options::defaults(PathBuf::new());
    let mut members_given = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (arg.as_str(), None),
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--scale" => {
                if inline.is_some() {
                    return Err("`--scale` takes no value".to_string());
                }
                options.scale = true;
                continue;
            }
            "--binary" | "--engine" | "--database-url" | "--clients" | "--seconds" | "--durability" | "--voters"
            | "--miss-set" | "--json" | "--members" => {}
            _ => return Err(format!("unknown argument `{arg}`")),
        }
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("`{flag}` needs a value"))?.as_str(),
        };
        match flag {
            "--binary" => binary = Some(PathBuf::from(non_empty(flag, value)?)),
            "--engine" => {
                options.engine = ENGINES
                    .iter()
                    .find(|known| **known == value)
                    .copied()
                    .ok_or_else(|| format!("unknown engine `{value}` (expected fjall, sled or postgres)"))?;
            }
            "--database-url" => options.database_url = Some(non_empty(flag, value)?.to_string()),
            "--clients" => options.clients = client_list(value)?,
            "--seconds" => options.seconds = number(flag, value, 1, 3600)? as u64,
            "--durability" => {
                options.durability = match value {
                    "sync" => "sync",
                    "buffered" => "buffered",
                    _ => return Err(format!("`--durability {value}`: expected sync or buffered")),
                };
            }
            "--voters" => options.voters = number(flag, value, 1, 100_000)?,
            "--miss-set" => options.miss_set = number(flag, value, 20_000, 10_000_000)?,
            "--json" => options.json = Some(PathBuf::from(non_empty(flag, value)?)),
            _ => {
                options.members = number(flag, value, 1000, 100_000_000)?;
                members_given = true;
            }
        }
    }
    options.binary = binary.ok_or("`--binary PATH` is required (the release commons-gateway binary)")?;
    if members_given && !options.scale {
        return Err("`--members` only goes with `--scale`".to_string());
    }
    match (options.engine, &options.database_url) {
        ("postgres", None) => return Err("`--engine postgres` needs `--database-url URL`".to_string()),
        (engine, Some(_)) if engine != "postgres" => {
            return Err(format!("`--database-url` is for `--engine postgres`, not {engine}"))
        }
        _ => {}
    }
    Ok(Some(options))
}

fn non_empty<'a>(flag: &str, value: &'a str) -> Result<&'a str, String> {
    if value.is_empty() {
        Err(format!("`{flag}` needs a non-empty value"))
    } else {
        Ok(value)
    }
}

/// A whole number from `min` to `max`, or a sentence naming `flag`.
fn number(flag: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{flag} {value}`: expected a whole number from {min} to {max}")),
    }
}

/// `1,4,16,64`: each from 1 to [`MAX_CLIENTS`], at least one, no repeats.
fn client_list(value: &str) -> Result<Vec<usize>, String> {
    let mut counts = Vec::new();
    for part in value.split(',') {
        let n = number("--clients", part.trim(), 1, MAX_CLIENTS)?;
        if counts.contains(&n) {
            return Err(format!("`--clients {value}`: {n} is listed twice"));
        }
        counts.push(n);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_need_only_the_binary() {
        let options = parse(&args(&["--binary", "target/release/commons-gateway"]));
        assert_eq!(options, Ok(Some(Options::defaults(PathBuf::from("target/release/commons-gateway")))));
        let options = Options::defaults(PathBuf::new());
        assert_eq!(
            (options.engine, options.clients, options.seconds, options.durability),
            ("fjall", vec![1, 4, 16, 64], 5, "sync")
        );
        assert_eq!(
            (options.voters, options.miss_set, options.members, options.scale),
            (2000, 50_000, 1_000_000, false)
        );
    }

    #[test]
    fn every_flag_in_both_spellings() -> Result<(), String> {
        let spaced = parse(&args(&[
            "--binary",
            "b",
            "--engine",
            "postgres",
            "--database-url",
            "postgres://u@h/d",
            "--clients",
            "2,8",
            "--seconds",
            "3",
            "--durability",
            "buffered",
            "--voters",
            "50",
            "--miss-set",
            "20000",
            "--json",
            "out.json",
            "--scale",
            "--members",
            "20000",
        ]))?;
        let inline = parse(&args(&[
            "--binary=b",
            "--engine=postgres",
            "--database-url=postgres://u@h/d",
            "--clients=2,8",
            "--seconds=3",
            "--durability=buffered",
            "--voters=50",
            "--miss-set=20000",
            "--json=out.json",
            "--scale",
            "--members=20000",
        ]))?;
        let want = Options {
            binary: PathBuf::from("b"),
            engine: "postgres",
            database_url: Some("postgres://u@h/d".to_string()),
            clients: vec![2, 8],
            seconds: 3,
            durability: "buffered",
            voters: 50,
            miss_set: 20_000,
            json: Some(PathBuf::from("out.json")),
            scale: true,
            members: 20_000,
        };
        assert_eq!(spaced, Some(want.clone()));
        assert_eq!(inline, Some(want));
        Ok(())
    }

    #[test]
    fn help_is_not_an_error() {
        assert_eq!(parse(&args(&["--help"])), Ok(None));
        assert_eq!(parse(&args(&["--seconds", "3", "-h"])), Ok(None));
    }

    #[test]
    fn bad_input_is_refused_with_a_sentence() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "`--binary PATH` is required (the release commons-gateway binary)"),
            (&["--binary", "b", "--engine", "rocks"], "unknown engine `rocks` (expected fjall, sled or postgres)"),
            (&["--binary", "b", "--clients", "0"], "`--clients 0`: expected a whole number from 1 to 256"),
            (&["--binary", "b", "--clients", "1,,4"], "`--clients `: expected a whole number from 1 to 256"),
            (&["--binary", "b", "--clients", "4,4"], "`--clients 4,4`: 4 is listed twice"),
            (&["--binary", "b", "--seconds", "0"], "`--seconds 0`: expected a whole number from 1 to 3600"),
            (&["--binary", "b", "--durability", "none"], "`--durability none`: expected sync or buffered"),
            (&["--binary", "b", "--members", "5000"], "`--members` only goes with `--scale`"),
            (
                &["--binary", "b", "--scale", "--members", "999"],
                "`--members 999`: expected a whole number from 1000 to 100000000",
            ),
            (&["--binary", "b", "--engine", "postgres"], "`--engine postgres` needs `--database-url URL`"),
            (
                &["--binary", "b", "--database-url", "postgres://x"],
                "`--database-url` is for `--engine postgres`, not fjall",
            ),
            (&["--binary"], "`--binary` needs a value"),
            (&["--binary="], "`--binary` needs a non-empty value"),
            (&["--binary", "b", "--scale=yes"], "`--scale` takes no value"),
            (&["--binary", "b", "--fast"], "unknown argument `--fast`"),
        ];
        for (list, want) in cases {
            assert_eq!(parse(&args(list)), Err(want.to_string()), "{list:?}");
        }
    }
}
