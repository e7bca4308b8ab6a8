//! The standard error of a `rampart serve` child, collected line by line
//! on a thread of its own, and the address the server says it serves on
//! (shared by the CLI's serve tests and the workspace's differential test).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The lines a server wrote to its standard error so far.
#[derive(Clone)]
pub struct ServerLog(Arc<Mutex<Vec<String>>>);

impl ServerLog {
    /// Starts collecting `child`'s standard error (it must be piped).
    pub fn collect(child: &mut Child) -> ServerLog {
        let log = ServerLog(Arc::new(Mutex::new(Vec::new())));
        let sink = Arc::clone(&log.0);
        let reader = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        log
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (a minute at most) until the server logs the address it
    /// serves on; fails if it exits first.
    pub fn wait_for_address(&self, child: &mut Child) -> SocketAddr {
        for _ in 0..600 {
            let found = self.0.lock().unwrap().iter().find_map(|line| {
                let (_, rest) = line.split_once("serving on https://")?;
                rest.trim().parse().ok()
            });
            if let Some(address) = found {
                return address;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the server exited: {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not listen: {:?}", self.lines());
    }
}
