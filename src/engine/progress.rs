//! Pull progress on stderr: indicatif bars on a terminal, plain lines
//! otherwise (CI logs, pipes), nothing with `--quiet` and `--json`.
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use bollard::models::CreateImageInfo;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Clone)]
pub struct Progress {
    mode: Mode,
}

#[derive(Clone)]
enum Mode {
    Quiet,
    Lines,
    Bars(MultiProgress),
}

impl Progress {
    /// Bars on a terminal, lines elsewhere, nothing when `quiet`.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Mode::Lines
        };
        Self { mode }
    }

    /// No output at all.
    pub fn quiet() -> Self {
        Self { mode: Mode::Quiet }
    }

    /// Starts reporting the pull of `image`.
    pub fn pull(&self, image: &str) -> PullProgress {
        let bar = match &self.mode {
            Mode::Bars(multi) => {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(image.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            Mode::Lines => {
                eprintln!("Pulling {image}");
                None
            }
            Mode::Quiet => None,
        };
        PullProgress {
            image: image.to_string(),
            bar,
            layers: HashMap::new(),
            lines: matches!(self.mode, Mode::Lines),
        }
    }
}

/// The progress of one pull: bytes summed over its layers.
pub struct PullProgress {
    image: String,
    bar: Option<ProgressBar>,
    /// Layer id → (current, total) bytes.
    layers: HashMap<String, (u64, u64)>,
    lines: bool,
}

impl PullProgress {
    /// Feeds one message of the engine's pull stream.
    pub fn update(&mut self, info: &CreateImageInfo) {
        let Some(bar) = &self.bar else { return };
        if let (Some(id), Some(detail)) = (&info.id, &info.progress_detail)
            && let (Some(current), Some(total)) = (detail.current, detail.total)
        {
            self.layers
                .insert(id.clone(), (current.max(0) as u64, total.max(0) as u64));
            let (current, total) = self
                .layers
                .values()
                .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
            bar.set_length(total);
            bar.set_position(current);
        }
        if let Some(status) = &info.status {
            bar.set_message(status.clone());
        }
    }

    /// Ends the report: `Ok` with a summary, or the error.
    pub fn finish(self, result: Result<&str, &str>) {
        let text = match result {
            Ok("") => format!("Pulled {}", self.image),
            Ok(summary) => format!("Pulled {} {summary}", self.image),
            Err(error) => format!("Pull of {} failed: {error}", self.image),
        };
        match self.bar {
            Some(bar) => bar.finish_with_message(text),
            None if self.lines => eprintln!("{text}"),
            None => {}
        }
    }
}
