//! The cutting of files into parts, and what happens when a thread panics.

use super::*;
use std::sync::mpsc::{channel, sync_channel};

/// Cuts `text` (written to a file) and returns the parts.
fn cut(text: &str, tag: &str) -> Vec<Part> {
    let path =
        std::env::temp_dir().join(format!("rampart-stream-{}-{tag}.txt", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let (sender, receiver) = sync_channel::<Part>(1024);
    let announced = std::cell::RefCell::new(Vec::new());
    let (files, _) = read_all(
        std::slice::from_ref(&path),
        &sender,
        true,
        false,
        "checking",
        &|file, failed| announced.borrow_mut().push((file, failed)),
    );
    drop(sender);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(announced.into_inner(), vec![(0, false)]);
    assert_eq!(files.len(), 1);
    assert!(files[0].failure.is_none());
    assert_eq!(files[0].text, text);
    receiver.iter().collect()
}

fn check_parts(text: &str, parts: &[Part], starts_part: impl Fn(&str) -> bool) {
    assert!(parts.len() > 1, "{} parts", parts.len());
    let joined: String = parts.iter().map(|part| part.text.as_str()).collect();
    assert_eq!(joined, text);
    let mut lines = 0u32;
    for (index, part) in parts.iter().enumerate() {
        assert_eq!(part.sequence, index);
        assert_eq!(part.inner, index > 0);
        assert_eq!(part.line_offset, lines);
        if index > 0 {
            assert!(starts_part(&part.text), "part {index} starts mid-document");
        }
        if index == 0 {
            assert!(part.text.len() >= FIRST_PART_BYTES);
        } else if index + 1 < parts.len() {
            assert!(part.text.len() >= PART_BYTES);
        }
        lines += part.text.matches('\n').count() as u32;
    }
}

#[test]
fn yaml_is_cut_at_document_starts() {
    let document =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: \"---\"\n";
    let text: String = (0..40_000).map(|_| format!("---\n{document}")).collect();
    let parts = cut(&text, "yaml");
    check_parts(&text, &parts, |part| part.starts_with("---\n"));
}

#[test]
fn json_lines_are_cut_at_line_starts() {
    let line = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}\n";
    let text = line.repeat(40_000);
    let parts = cut(&text, "jsonl");
    check_parts(&text, &parts, |part| part.starts_with('{'));
}

#[test]
fn small_files_stay_whole() {
    let text = "---\na: 1\n".repeat(1000);
    let parts = cut(&text, "small");
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].text, text);
    assert_eq!(cut("", "empty").len(), 1);
}

/// `count` small manifest files in a fresh directory.
fn manifest_files(tag: &str, count: usize) -> (PathBuf, Vec<PathBuf>) {
    let directory =
        std::env::temp_dir().join(format!("rampart-stream-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let paths = (0..count)
        .map(|index| {
            let path = directory.join(format!("{index:02}.yaml"));
            std::fs::write(&path, format!("kind: Pod\nmetadata:\n  name: p{index}\n")).unwrap();
            path
        })
        .collect();
    (directory, paths)
}

/// Runs `fan_out` on `paths` with two workers running `worker`, on a
/// thread of its own: a hang fails the test (after a minute) instead of
/// stopping the suite.
fn fan_out_bounded(
    paths: Vec<PathBuf>,
    worker: fn(&Parts, &Sender<Event<()>>) -> usize,
) -> FannedOut<usize> {
    let (done, finished) = channel();
    let thread = std::thread::spawn(move || {
        let fanned = fan_out(&paths, 2, false, false, "checking", worker, |_| {});
        let _ = done.send(fanned);
    });
    let fanned = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the fan-out hangs when its workers panic");
    thread.join().unwrap();
    fanned
}

#[test]
fn workers_that_all_panic_stop_the_reader_and_are_failures() {
    let (directory, paths) = manifest_files("all-panic", 20);
    let fanned = fan_out_bounded(paths, |parts, _| {
        if parts.next().is_some() {
            panic!("worker failure for the test");
        }
        0
    });
    std::fs::remove_dir_all(&directory).unwrap();
    assert!(fanned.results.is_empty());
    assert_eq!(fanned.failures.len(), 2, "{:?}", fanned.failures);
    assert!(
        fanned
            .failures
            .iter()
            .all(|failure| failure.contains("worker failure for the test"))
    );
    // The reader stopped at the file it could not hand on.
    assert!(fanned.files.len() < 20);
    assert!(fanned.files.last().unwrap().failure.is_some());
}

#[test]
fn one_panicking_worker_is_a_failure_and_the_other_goes_on() {
    let (directory, paths) = manifest_files("one-panic", 20);
    let fanned = fan_out_bounded(paths, |parts, _| {
        let mut taken = 0;
        while let Some(part) = parts.next() {
            if part.sequence == 3 {
                panic!("worker failure for the test");
            }
            taken += 1;
        }
        taken
    });
    std::fs::remove_dir_all(&directory).unwrap();
    assert_eq!(fanned.failures.len(), 1, "{:?}", fanned.failures);
    assert_eq!(fanned.results.len(), 1);
    assert_eq!(fanned.files.len(), 20);
    assert!(fanned.files.iter().all(|file| file.failure.is_none()));
}

#[test]
fn a_panic_while_judging_a_part_is_an_error_for_its_file() {
    let part = Part {
        sequence: 7,
        file: 2,
        name: "pods.yaml".into(),
        inner: true,
        line_offset: 40,
        text: String::new(),
    };
    let outcome = guarded(&part, |_| panic!("judging failed for the test"));
    assert_eq!((outcome.sequence, outcome.file), (7, 2));
    assert_eq!(outcome.load_errors.len(), 1);
    let error = &outcome.load_errors[0];
    assert_eq!((error.file.as_str(), error.line), ("pods.yaml", Some(41)));
    assert!(error.message.contains("judging failed for the test"));
}
