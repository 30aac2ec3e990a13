//! A hosted runtime (what `calf serve` runs for a tenant): jobs with their
//! own output and end, `ps` and `inspect`, messages and exit signals from
//! outside, the quotas, an attached REPL, and shutdown.

use futures_util::FutureExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calf_lang::value::Pid;
use calf_lang::Value;
use calf_scheduler::bus::embedded::EmbeddedBus;
use calf_scheduler::hosted::{Hosted, JobEnd, JobOutput, Limits, Refused, Scheduler, Submission};
use calf_scheduler::{Config, Failure};

/// What a job printed, and how it ended.
#[derive(Default)]
struct Captured {
    text: Mutex<String>,
    end: Mutex<Option<JobEnd>>,
}

impl JobOutput for Captured {
    fn write(&self, text: &str, _to_stderr: bool) {
        self.text.lock().unwrap().push_str(text);
    }

    fn ended(&self, end: JobEnd) {
        let mut slot = self.end.lock().unwrap();
        assert!(slot.is_none(), "a job ends once");
        *slot = Some(end);
    }
}

impl Captured {
    fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// Waits (at most 20 s) until `done` holds of it.
    fn wait_for(&self, what: &str, done: impl Fn(&Captured) -> bool) {
        let until = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(
                Instant::now() < until,
                "still waiting for {what}; printed: {}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_end(&self) -> JobEnd {
        self.wait_for("the job's end", |c| c.end.lock().unwrap().is_some());
        self.end.lock().unwrap().take().unwrap()
    }
}

fn render(failure: &Failure) -> String {
    format!("{failure:?}")
}

const LIMITS: Limits = Limits {
    max_processes: 1_000,
    max_calls_in_flight: 10,
    max_mailbox: 1_000,
    cpu_share: 1,
};

fn hosted(limits: Limits) -> (Scheduler, Hosted) {
    let scheduler = Scheduler::new(2, render).unwrap();
    let hosted = scheduler.host(
        "acme",
        Config::default(),
        limits,
        Arc::new(EmbeddedBus::new()),
        None,
        None,
    );
    (scheduler, hosted)
}

fn submit(hosted: &Hosted, source: &str) -> (Pid, Arc<Captured>) {
    submit_files(hosted, "main.calf", vec![("main.calf", source)])
}

fn submit_files(hosted: &Hosted, main: &str, files: Vec<(&str, &str)>) -> (Pid, Arc<Captured>) {
    let output = Arc::new(Captured::default());
    let pid = hosted
        .submit(Submission {
            main: main.to_string(),
            files: files
                .into_iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
            args: vec!["one".to_string()],
            output: output.clone(),
            durable: false,
        })
        .now_or_never()
        .expect("a job that is not durable starts at once")
        .unwrap_or_else(|refused| panic!("refused: {refused:?}"));
    (pid, output)
}

#[test]
fn a_job_prints_to_its_own_output_and_ends_there() {
    let (_scheduler, hosted) = hosted(LIMITS);
    let (_, first) = submit(&hosted, "(println \"first\" *command-line-args*) 1");
    let (_, second) = submit(
        &hosted,
        "(println \"second\") (throw (ex-info \"no\" {:why 1}))",
    );
    let end = first.wait_end();
    assert_eq!(first.text(), "first [one]\n");
    assert_eq!((end.reason.as_str(), end.status), (":normal", 0));
    let end = second.wait_end();
    assert_eq!(second.text(), "second\n");
    assert_eq!(end.status, 1);
    assert!(
        end.failure.is_some_and(|f| f.contains("no")),
        "{:?}",
        end.reason
    );
    // The runtime goes on after its jobs end.
    let (_, third) = submit(&hosted, "(exit-program 3)");
    assert_eq!(third.wait_end().status, 3);
}

#[test]
fn require_reads_the_files_submitted_with_the_job_never_the_disk() {
    let (_scheduler, hosted) = hosted(LIMITS);
    let (_, output) = submit_files(
        &hosted,
        "main.calf",
        vec![
            (
                "main.calf",
                "(require '[app.util :as u]) (println (u/twice 21))",
            ),
            ("app/util.calf", "(ns app.util) (defn twice [x] (* 2 x))"),
        ],
    );
    assert_eq!(output.wait_end().status, 0);
    assert_eq!(output.text(), "42\n");
    // calf-scheduler's own Cargo.toml is on the disk where the test runs,
    // but a job cannot load it.
    let (_, output) = submit(&hosted, "(load-file \"Cargo.toml\")");
    let end = output.wait_end();
    assert_eq!(end.status, 1);
    assert!(
        end.reason.contains("no file Cargo.toml was submitted"),
        "{}",
        end.reason
    );
}

#[test]
fn a_submission_that_does_not_read_is_refused_with_its_error() {
    let (_scheduler, hosted) = hosted(LIMITS);
    let output = Arc::new(Captured::default());
    let refused = hosted
        .submit(Submission {
            main: "main.calf".to_string(),
            files: vec![("main.calf".to_string(), "(println \"unclosed\"".to_string())],
            args: Vec::new(),
            output: output.clone(),
            durable: false,
        })
        .now_or_never()
        .expect("a job that is not durable starts at once");
    assert!(
        matches!(&refused, Err(Refused::Source(rendered)) if rendered.contains("Source(")),
        "{refused:?}"
    );
    let refused = hosted
        .submit(Submission {
            main: "missing.calf".to_string(),
            files: Vec::new(),
            args: Vec::new(),
            output,
            durable: false,
        })
        .now_or_never()
        .expect("a job that is not durable starts at once");
    assert!(matches!(refused, Err(Refused::Source(_))), "{refused:?}");
}

#[test]
fn ps_and_inspect_show_what_processes_do() {
    let (scheduler, hosted) = hosted(LIMITS);
    let (main, output) = submit(
        &hosted,
        "(def worker (spawn (fn [] (register! :spinner (self)) (loop [] (recur)))))
         (defn wait-for-stop [] (receive [:stop] :stopped))
         (println \"ready\")
         (wait-for-stop)",
    );
    output.wait_for("ready", |c| c.text().contains("ready"));
    let rows = scheduler.tokio().block_on(hosted.processes());
    assert_eq!(rows.len(), 2, "{rows:?}");
    let waiting = rows.iter().find(|r| r.pid == main).unwrap();
    assert_eq!(waiting.status, "waiting");
    assert_eq!(waiting.job, main);
    let spinner = rows.iter().find(|r| r.pid != main).unwrap();
    assert_eq!(spinner.job, main);
    assert_eq!(spinner.status, "running");
    assert_eq!(spinner.name.as_deref(), Some(":spinner"));
    assert!(spinner.reductions > 0);
    scheduler
        .tokio()
        .block_on(hosted.send(main, Value::str("not this")))
        .unwrap();
    let detail = scheduler.tokio().block_on(hosted.inspect(main)).unwrap();
    assert_eq!(detail.mailbox, vec!["\"not this\"".to_string()]);
    assert!(
        detail
            .stack
            .iter()
            .any(|f| f.contains("wait-for-stop") && f.contains("main.calf:2")),
        "{:?}",
        detail.stack
    );
    assert_eq!(hosted.figures().processes, 2);
    assert_eq!(hosted.figures().jobs, 1);
    // A message from outside ends the wait; the job's end stops the
    // spinner, which would otherwise run forever.
    let stop = Value::vector([Value::keyword("stop")]);
    scheduler.tokio().block_on(hosted.send(main, stop)).unwrap();
    assert_eq!(output.wait_end().status, 0);
    let until = Instant::now() + Duration::from_secs(10);
    while hosted.figures().processes > 0 {
        assert!(Instant::now() < until, "the job's processes outlived it");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(scheduler.tokio().block_on(hosted.inspect(main)).is_err());
}

#[test]
fn kill_from_outside_is_an_exit_signal() {
    let (scheduler, hosted) = hosted(LIMITS);
    let (main, output) = submit(&hosted, "(receive [:never] :ok)");
    hosted.kill(main, Value::keyword("because")).unwrap();
    let end = output.wait_end();
    assert_eq!(end.status, 1);
    assert!(end.reason.contains("because"), "{}", end.reason);
    assert!(hosted.kill(main, Value::keyword("kill")).is_err());
    assert!(scheduler
        .tokio()
        .block_on(hosted.send(Pid(999_999), Value::Nil))
        .is_err());
}

#[test]
fn a_spawn_past_the_quota_throws_quota_exceeded() {
    let (_scheduler, hosted) = hosted(Limits {
        max_processes: 5,
        ..LIMITS
    });
    let (_, output) = submit(
        &hosted,
        "(defn bomb [n]
           (try (spawn (fn [] (receive [:never] :ok))) (bomb (inc n))
             (catch e [n (:type (ex-data e)) (:quota (ex-data e)) (:limit (ex-data e)) (:tenant (ex-data e))])))
         (println (bomb 0))",
    );
    assert_eq!(output.wait_end().status, 0);
    assert_eq!(
        output.text(),
        "[4 :calf/quota-exceeded :max-processes 5 acme]\n"
    );
    assert!(hosted.figures().quota_refusals >= 1);
}

#[test]
fn a_mailbox_past_the_quota_kills_its_process_with_quota_exceeded() {
    let (_scheduler, hosted) = hosted(Limits {
        max_mailbox: 100,
        ..LIMITS
    });
    let (_, output) = submit(
        &hosted,
        "(def sleeper (spawn (fn [] (sleep 100000))))
         (monitor sleeper)
         (dotimes [i 500] (send sleeper i))
         (receive [:DOWN _ _ reason] (println (:type (ex-data reason)) (:quota (ex-data reason))))",
    );
    assert_eq!(output.wait_end().status, 0);
    let text = output.text();
    assert!(
        text.ends_with(":calf/quota-exceeded :max-mailbox\n"),
        "{text}"
    );
    assert!(
        text.contains("tenant acme reached its quota max-mailbox of 100"),
        "{text}"
    );
}

#[test]
fn an_attached_repl_keeps_its_namespace_ends_with_its_session_and_its_processes_outlive_it() {
    let (scheduler, hosted) = hosted(LIMITS);
    let output = Arc::new(Captured::default());
    let attached = hosted.attach(output.clone()).unwrap();
    let eval = |line: &str| scheduler.tokio().block_on(attached.eval("<attach>", line));
    let evaluated = eval("(def x 41) (println \"hello\") (inc x)");
    assert_eq!(evaluated.result.unwrap(), Value::Int(42));
    assert_eq!(output.text(), "hello\n");
    assert!(eval("(throw (ex-info \"bad\" {}))").result.is_err());
    assert_eq!(
        eval("x").result.unwrap(),
        Value::Int(41),
        "a failed line ends no session"
    );
    let (start, names) = attached.completions("(rec", 4);
    assert_eq!(start, 1);
    assert!(names.contains(&"recur".to_string()), "{names:?}");
    let long_lived = eval("(spawn (fn [] (receive [:never] :ok)))")
        .result
        .unwrap();
    let Value::Pid(spawned) = long_lived else {
        panic!("not a pid: {long_lived}")
    };
    let in_other = scheduler.tokio().block_on(attached.eval_in(
        Some(calf_lang::Sym::new("other")),
        "<attach>",
        "(def y 1) (inc y)",
    ));
    assert_eq!(in_other.result.unwrap(), Value::Int(2));
    assert_eq!(in_other.ns.name(), "other");
    assert_eq!(
        eval("y").result.unwrap(),
        Value::Int(1),
        "the next line starts where the last ended"
    );
    let repl = attached.pid();
    drop(attached);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        scheduler.tokio().block_on(hosted.inspect(repl)).is_err(),
        "the REPL's process ends with its session"
    );
    assert!(scheduler.tokio().block_on(hosted.inspect(spawned)).is_ok());
}

#[test]
fn shutdown_stops_every_process_and_refuses_new_jobs() {
    let (scheduler, hosted) = hosted(LIMITS);
    let (_, trapping) = submit(
        &hosted,
        "(trap-exit! true) (receive [:EXIT _ reason] (println \"cleaning up after\" reason))",
    );
    let (_, spinning) = submit(&hosted, "(loop [] (recur))");
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    scheduler
        .tokio()
        .block_on(hosted.shutdown(Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(5));
    let end = trapping.wait_end();
    assert_eq!(end.status, 0, "{end:?} {}", trapping.text());
    assert_eq!(trapping.text(), "cleaning up after :shutdown\n");
    assert_eq!(spinning.wait_end().status, 1);
    assert_eq!(hosted.figures().processes, 0);
    let refused = hosted
        .submit(Submission {
            main: "m.calf".to_string(),
            files: vec![("m.calf".to_string(), "1".to_string())],
            args: Vec::new(),
            output: Arc::new(Captured::default()),
            durable: false,
        })
        .now_or_never()
        .expect("a job that is not durable starts at once");
    assert!(matches!(refused, Err(Refused::ShuttingDown)));
}
