//! Several inputs of one sample (lanes, R1/R2, several BAMs), read a record from each in turn,
//! so that an early stop has seen all of them. Each input is parsed on its own thread; the turn
//! order depends on the inputs alone, so the records come in the same order on every run.

use std::thread;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::{Input, InputStats, RecordSink};
use crate::error::InputError;

/// A record's pieces as an input thread sends them.
enum Piece {
    Start(String),
    Bases(Vec<u8>),
    End,
}

/// Pieces an input thread may run ahead of its turn.
const AHEAD: usize = 64;

/// Streams `inputs` into `sink`, one record from each in turn, until all end or `sink` stops.
pub(super) fn stream(
    inputs: Vec<Input>,
    sink: &mut impl RecordSink,
) -> Result<InputStats, InputError> {
    let mut lanes = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (tx, rx) = bounded(AHEAD);
        let handle = thread::Builder::new()
            .name("genosift-input".into())
            .spawn(move || input.stream(&mut Forward(tx)))
            .map_err(|err| InputError::Open {
                source_name: "input thread".into(),
                err,
            })?;
        lanes.push(Some((rx, handle)));
    }
    let mut stats = InputStats::default();
    let mut stopped = false;
    let mut open = lanes.len();
    'turns: while open > 0 {
        for lane in lanes.iter_mut() {
            let Some((rx, _)) = lane else { continue };
            match one_record(rx, sink) {
                Turn::Record => {}
                Turn::Ended => {
                    open -= 1;
                    let (rx, handle) = lane.take().expect("an open lane");
                    drop(rx);
                    stats.add(&finish(handle)?);
                }
                Turn::Stop => {
                    stopped = true;
                    break 'turns;
                }
            }
        }
    }
    for lane in lanes.into_iter().flatten() {
        let (rx, handle) = lane;
        // Closing the channel makes the thread's sink stop it. A problem it met while reading
        // ahead of a stop did not touch what was used, and whether it got there is timing.
        drop(rx);
        match finish(handle) {
            Ok(s) => stats.add(&s),
            Err(_) if stopped => {}
            Err(e) => return Err(e),
        }
    }
    stats.stopped_early |= stopped;
    Ok(stats)
}

type Handle = thread::JoinHandle<Result<InputStats, InputError>>;

fn finish(handle: Handle) -> Result<InputStats, InputError> {
    handle.join().map_err(|_| InputError::Format {
        source_name: "input thread".into(),
        what: "panicked".into(),
    })?
}

enum Turn {
    Record,
    Ended,
    Stop,
}

/// Passes one whole record from `rx` to `sink`.
fn one_record(rx: &Receiver<Piece>, sink: &mut impl RecordSink) -> Turn {
    loop {
        let go = match rx.recv() {
            Err(_) => return Turn::Ended,
            Ok(Piece::Start(name)) => sink.start(&name),
            Ok(Piece::Bases(b)) => sink.bases(&b),
            Ok(Piece::End) => {
                return if sink.end() { Turn::Record } else { Turn::Stop };
            }
        };
        if !go {
            return Turn::Stop;
        }
    }
}

/// An input thread's sink: sends the pieces on; stops when the receiver is gone.
struct Forward(Sender<Piece>);

impl RecordSink for Forward {
    fn start(&mut self, name: &str) -> bool {
        self.0.send(Piece::Start(name.to_string())).is_ok()
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        self.0.send(Piece::Bases(bases.to_vec())).is_ok()
    }
    fn end(&mut self) -> bool {
        self.0.send(Piece::End).is_ok()
    }
}
