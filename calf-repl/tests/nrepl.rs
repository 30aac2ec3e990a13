//! `calf nrepl` driven by Clojure's reference nREPL client (`nrepl.core`,
//! Debian's libnrepl-clojure), which nobody here wrote, and by hand over
//! TCP for what no well-behaved client sends.
//!
//! The JVM takes seconds to start, so the client's checks run in one
//! Clojure script, which prints one line per check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLOJURE_JARS: &[&str] = &["/usr/share/java/clojure.jar", "/usr/share/java/nrepl.jar"];

/// A running `calf nrepl` in a directory of its own, stopped (with
/// SIGTERM, as a person's Ctrl-C) when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(name: &str) -> Server {
        Server::start_with(name, &[])
    }

    /// A server started with `args` besides `nrepl --threads 2`.
    fn start_with(name: &str, args: &[&str]) -> Server {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("nrepl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let mut child = Command::new(env!("CARGO_BIN_EXE_calf"))
            .args(["nrepl", "--threads", "2"])
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("calf starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("calf nrepl says where it listens");
        let port: u16 = line
            .split("nrepl://127.0.0.1:")
            .nth(1)
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        assert_eq!(
            line.trim(),
            format!(
                "nREPL server started on port {port} on host 127.0.0.1 - nrepl://127.0.0.1:{port}"
            )
        );
        let written = std::fs::read_to_string(dir.join(".nrepl-port")).expect(".nrepl-port");
        assert_eq!(written.trim(), port.to_string());
        Server { child, port, dir }
    }

    fn connect(&self) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("a connection");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        Client {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Stops the server as Ctrl-C would; whether it left `.nrepl-port`.
    fn stop(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.dir.join(".nrepl-port").exists();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("calf nrepl did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bencode, as much as a test sends and reads.
#[derive(Clone, Debug, PartialEq)]
enum B {
    Int(i64),
    Str(String),
    List(Vec<B>),
    Dict(Vec<(String, B)>),
}

impl B {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            B::Int(n) => out.extend(format!("i{n}e").bytes()),
            B::Str(s) => out.extend(format!("{}:{s}", s.len()).bytes()),
            B::List(items) => {
                out.push(b'l');
                items.iter().for_each(|i| i.encode(out));
                out.push(b'e');
            }
            B::Dict(entries) => {
                let mut entries = entries.clone();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                out.push(b'd');
                for (k, v) in entries {
                    B::Str(k).encode(out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// The value at the start of `bytes` and its length, if whole.
    fn decode(bytes: &[u8]) -> Option<(B, usize)> {
        match *bytes.first()? {
            b'i' => {
                let end = bytes.iter().position(|&b| b == b'e')?;
                let n = std::str::from_utf8(&bytes[1..end]).ok()?.parse().ok()?;
                Some((B::Int(n), end + 1))
            }
            b'l' | b'd' => {
                let mut at = 1;
                let mut items = Vec::new();
                while *bytes.get(at)? != b'e' {
                    let (item, used) = B::decode(&bytes[at..])?;
                    items.push(item);
                    at += used;
                }
                if bytes[0] == b'l' {
                    return Some((B::List(items), at + 1));
                }
                let mut entries = Vec::new();
                let mut items = items.into_iter();
                while let (Some(B::Str(k)), Some(v)) = (items.next(), items.next()) {
                    entries.push((k, v));
                }
                Some((B::Dict(entries), at + 1))
            }
            _ => {
                let colon = bytes.iter().position(|&b| b == b':')?;
                let len: usize = std::str::from_utf8(&bytes[..colon]).ok()?.parse().ok()?;
                let text = bytes.get(colon + 1..colon + 1 + len)?;
                Some((
                    B::Str(String::from_utf8_lossy(text).into_owned()),
                    colon + 1 + len,
                ))
            }
        }
    }

    fn get(&self, key: &str) -> Option<&B> {
        match self {
            B::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            B::Str(s) => Some(s),
            _ => None,
        }
    }

    fn statuses(&self) -> Vec<String> {
        match self.get("status") {
            Some(B::List(items)) => items
                .iter()
                .filter_map(|i| match i {
                    B::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn request(fields: &[(&str, &str)]) -> B {
    B::Dict(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), B::Str(v.to_string())))
            .collect(),
    )
}

struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("the request is sent");
    }

    fn send(&mut self, message: &B) {
        let mut bytes = Vec::new();
        message.encode(&mut bytes);
        self.send_raw(&bytes);
    }

    /// The next message; `None` when the server closed the connection.
    fn next(&mut self) -> Option<B> {
        loop {
            if let Some((message, used)) = B::decode(&self.buffer) {
                self.buffer.drain(..used);
                return Some(message);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("no reply within the read timeout: {e}"),
            }
        }
    }

    /// Every reply to the request with id `id`, up to its `done`.
    fn until_done(&mut self, id: &str) -> Vec<B> {
        let mut replies = Vec::new();
        loop {
            let message = self
                .next()
                .unwrap_or_else(|| panic!("closed before {id} was done: {replies:?}"));
            if message.str("id") == Some(id) {
                let done = message.statuses().iter().any(|s| s == "done");
                replies.push(message);
                if done {
                    return replies;
                }
            }
        }
    }

    /// The value the code evaluates to, printed.
    fn eval(&mut self, id: &str, session: &str, code: &str) -> String {
        self.send(&request(&[
            ("op", "eval"),
            ("id", id),
            ("session", session),
            ("code", code),
        ]));
        let replies = self.until_done(id);
        replies
            .iter()
            .find_map(|r| r.str("value"))
            .unwrap_or_else(|| panic!("no value for {code}: {replies:?}"))
            .to_string()
    }

    fn clone_session(&mut self) -> String {
        self.send(&request(&[("op", "clone"), ("id", "clone")]));
        let replies = self.until_done("clone");
        replies[0]
            .str("new-session")
            .expect("a new session")
            .to_string()
    }
}

/// Runs `script` with Clojure and nREPL's client on the classpath, with
/// `args`; its stdout. Fails with what to do when they are not installed.
fn clojure(script: &str, args: &[&str]) -> String {
    let missing: Vec<&str> = CLOJURE_JARS
        .iter()
        .copied()
        .filter(|jar| !Path::new(jar).exists())
        .collect();
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        missing.is_empty() && java.is_ok_and(|s| s.success()),
        "these tests drive calf nrepl with Clojure's nREPL client, which is not installed \
         (missing: {}); run scripts/setup-test-env",
        if missing.is_empty() {
            "java".to_string()
        } else {
            missing.join(", ")
        }
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("nrepl-client-{}.clj", std::process::id()));
    std::fs::write(&path, script).expect("the client script is written");
    let output = Command::new("java")
        // A short-lived client: no JIT tiers worth waiting for.
        .args(["-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp"])
        .arg(CLOJURE_JARS.join(":"))
        .arg("clojure.main")
        .arg(&path)
        .args(args)
        .output()
        .expect("java runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the Clojure client failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The reference client's view of a session: eval with output, an
/// error, an interrupted loop, completions, info, load-file, and two
/// sessions evaluating at once.
const CLIENT_SCRIPT: &str = r#"
(require '[nrepl.core :as nrepl])
(def port (Integer/parseInt (first *command-line-args*)))
(def file-path (second *command-line-args*))

(defn norm
  "A combined response without its id and session, its status sorted,
  for stable printing."
  [r]
  (into (sorted-map) (update (dissoc r :id :session) :status #(vec (sort %)))))

(defn show [check v] (println (str check " " (pr-str v))))

(with-open [conn (nrepl/connect :port port)
            background (nrepl/connect :port port)]
  (let [client (nrepl/client conn 10000)
        s1 (nrepl/new-session client)
        s2 (nrepl/new-session client)
        on (fn [client session m]
             (nrepl/combine-responses
              (doall (nrepl/message client (assoc m :session session)))))
        run (partial on client)
        ;; What runs in a future goes on a connection of its own: two
        ;; threads reading one client's responses may each take the other's
        ;; (nrepl.core's client shares one response seq between callers).
        run-in-background (partial on (nrepl/client background 10000))]
    (show "sessions-distinct" (not= s1 s2))
    (show "ls-sessions" (= #{s1 s2} (set (:sessions (run s1 {:op "ls-sessions"})))))
    (show "describe" (every? (set (map name (keys (:ops (run s1 {:op "describe"})))))
                             ["eval" "load-file" "interrupt" "completions" "info"]))

    (show "eval" (norm (select-keys (run s1 {:op "eval" :code "(do (println \"hello\") (print \"there\") (+ 1 2))"})
                                    [:out :value :ns :status])))

    (let [r (run s1 {:op "eval" :code "(/ 1 0)" :file "/src/app.calf" :line 7 :column 3})]
      (show "error" (norm (select-keys r [:ex :root-ex :status :value])))
      (show "error-says-where" (boolean (re-find #"divide by zero[\s\S]*/src/app.calf:7:3" (:err r)))))

    (let [looping (future (run-in-background s1 {:op "eval" :id "loop-1" :code "(loop [n 0] (recur (inc n)))"}))]
      (Thread/sleep 300)
      (show "interrupt" (norm (run s1 {:op "interrupt" :interrupt-id "loop-1"})))
      (show "interrupted" (norm (deref looping 5000 :timeout)))
      (show "idle" (norm (run s1 {:op "interrupt"})))
      (show "after-interrupt" (:value (run s1 {:op "eval" :code "(+ 40 2)"}))))

    (show "one-value-per-form" (:value (run s1 {:op "eval" :code "(def a 1)\n(+ a 1) (* 3 3)"})))
    (show "last-results" (:value (run s1 {:op "eval" :code "[*1 *2 *3]"})))
    (show "stops-at-error" (norm (select-keys (run s1 {:op "eval" :code "(def b 2) (/ b 0) (def c 3)"})
                                              [:value :ex :status])))
    (show "last-error" (:value (run s1 {:op "eval" :code "(:type (ex-data *e))"})))

    (show "load-file" (norm (select-keys (run s1 {:op "load-file"
                                                  :file "(ns app.greet)\n\n(defn twice\n  \"Doubles x.\"\n  [x] (* 2 x))\n(println \"loaded\")\n(twice 21)"
                                                  :file-path file-path
                                                  :file-name "greet.calf"})
                                         [:out :value :status])))
    (show "ns-after-load" (:ns (run s1 {:op "eval" :code "1"})))
    (show "eval-in-ns" (:value (run s1 {:op "eval" :ns "app.greet" :code "(twice 4)"})))

    (let [r (run s2 {:op "info" :sym "twice" :ns "app.greet"})]
      (show "info" (norm (select-keys r [:name :ns :doc :arglists-str :file :line :status]))))
    (show "info-missing" (norm (run s2 {:op "info" :sym "no-such-var-anywhere" :ns "user"})))
    (show "eldoc" (norm (select-keys (run s2 {:op "eldoc" :sym "app.greet/twice"}) [:eldoc :type :status])))

    (show "completions" (->> (run s2 {:op "completions" :prefix "app.greet/tw"}) :completions))
    (show "complete" (->> (run s2 {:op "complete" :prefix "mapc" :ns "user"}) :completions
                          (map #(select-keys % [:candidate :type :ns]))))

    (let [slow (future (run-in-background s1 {:op "eval" :code "(do (sleep 1500) :slow)"}))
          started (System/currentTimeMillis)
          quick (run s2 {:op "eval" :code "(do (def shared-by-both 7) :quick)"})
          quick-ms (- (System/currentTimeMillis) started)]
      (show "two-sessions" [(:value quick) (< quick-ms 1000) (:value (deref slow 5000 :timeout))])
      (show "shared-namespaces" (:value (run s1 {:op "eval" :ns "user" :code "shared-by-both"}))))

    (show "unknown-op" (norm (run s1 {:op "no-such-op"})))
    (show "close" (norm (run s2 {:op "close"})))
    (show "closed" (norm (run s2 {:op "eval" :code "1"})))))
(shutdown-agents)
"#;

#[test]
fn the_reference_client_evaluates_interrupts_completes_and_looks_up() {
    let mut server = Server::start("clojure");
    let file_path = server.dir.join("app").join("greet.calf");
    let port = server.port.to_string();
    let out = clojure(CLIENT_SCRIPT, &[&port, &file_path.to_string_lossy()]);
    let file = file_path.to_string_lossy();
    let expected = format!(
        r#"sessions-distinct true
ls-sessions true
describe true
eval {{:ns "user", :out "hello\nthere", :status ["done"], :value ["3"]}}
error {{:ex "calf/divide-by-zero", :root-ex "calf/divide-by-zero", :status ["done" "eval-error"]}}
error-says-where true
interrupt {{:status ["done" "interrupted"]}}
interrupted {{:status ["done" "interrupted"]}}
idle {{:status ["done" "session-idle"]}}
after-interrupt ["42"]
one-value-per-form ["user/a" "2" "9"]
last-results ["[9 2 user/a]"]
stops-at-error {{:ex "calf/divide-by-zero", :status ["done" "eval-error"], :value ["user/b"]}}
last-error [":calf/divide-by-zero"]
load-file {{:out "loaded\n", :status ["done"], :value ["42"]}}
ns-after-load "user"
eval-in-ns ["8"]
info {{:arglists-str "([x])", :doc "Doubles x.", :file "{file}", :line 3, :name "twice", :ns "app.greet", :status ["done"]}}
info-missing {{:status ["done" "no-info"]}}
eldoc {{:eldoc [["x"]], :status ["done"], :type "function"}}
completions [{{:candidate "app.greet/twice", :ns "app.greet", :type "function"}}]
complete ({{:candidate "mapcat", :type "function", :ns "calf.core"}})
two-sessions [[":quick"] true [":slow"]]
shared-namespaces ["7"]
unknown-op {{:err "unknown op \"no-such-op\"; this server's ops are clone, close, complete, completions, describe, eldoc, eval, info, interrupt, load-file, lookup, ls-sessions, stdin (describe lists them)", :op "no-such-op", :status ["done" "error" "unknown-op"]}}
close {{:status ["done" "session-closed"]}}
closed {{:err "no session {{s2}}: it was closed, or the server restarted; clone a new one", :status ["done" "error" "unknown-session"]}}
"#
    );
    // The closed session's id is the client's to know.
    let out = out
        .lines()
        .map(|line| {
            if line.starts_with("closed ") {
                let start = line.find("no session ").map(|i| i + "no session ".len());
                let end = line.find(": it was closed");
                if let (Some(start), Some(end)) = (start, end) {
                    return format!("{}{{s2}}{}", &line[..start], &line[end..]);
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_eq!(out, expected);
    assert!(
        !server.stop(),
        ".nrepl-port is removed when the server stops"
    );
}

#[test]
fn a_malformed_message_closes_its_connection_only() {
    let server = Server::start("malformed");
    let mut bad = server.connect();
    bad.send_raw(b"d2:op4:evalX");
    let reply = bad.next().expect("an error reply before the close");
    assert_eq!(reply.statuses(), ["error", "malformed-request", "done"]);
    assert!(
        reply
            .str("err")
            .is_some_and(|e| e.contains("malformed bencode at byte 11")),
        "{reply:?}"
    );
    assert_eq!(bad.next(), None, "the connection is closed");

    let mut huge = server.connect();
    huge.send_raw(b"d4:code999999999:");
    let reply = huge.next().expect("an error reply");
    assert!(
        reply
            .str("err")
            .is_some_and(|e| e.contains("longer than the limit")),
        "{reply:?}"
    );
    assert_eq!(huge.next(), None);

    let mut good = server.connect();
    good.send(&request(&[("op", "no-such-op"), ("id", "u1")]));
    let replies = good.until_done("u1");
    assert_eq!(replies[0].statuses(), ["error", "unknown-op", "done"]);
    let session = good.clone_session();
    assert_eq!(good.eval("e1", &session, "(+ 1 2)"), "3");
}

#[test]
fn a_client_gone_mid_eval_stops_its_session_and_spawned_output_reaches_its_session() {
    let server = Server::start("gone");
    let mut first = server.connect();
    let looping = first.clone_session();
    first.send(&request(&[
        ("op", "eval"),
        ("id", "loop"),
        ("session", &looping),
        ("code", "(do (register! :looper (self)) (loop [] (recur)))"),
    ]));

    let mut second = server.connect();
    let session = second.clone_session();
    let until = Instant::now() + Duration::from_secs(5);
    while second.eval("w", &session, "(some? (whereis :looper))") != "true" {
        assert!(Instant::now() < until, "the loop never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(first);
    let until = Instant::now() + Duration::from_secs(5);
    while second.eval("w", &session, "(whereis :looper)") != "nil" {
        assert!(
            Instant::now() < until,
            "the looping session's process still runs after its client left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    second.send(&request(&[
        ("op", "eval"),
        ("id", "spawner"),
        ("session", &session),
        (
            "code",
            "(do (spawn (fn [] (sleep 100) (println \"from a spawned process\"))) :spawned)",
        ),
    ]));
    let replies = second.until_done("spawner");
    assert_eq!(replies[0].str("value"), Some(":spawned"));
    let later = second.next().expect("the spawned process's output");
    assert_eq!(later.str("out"), Some("from a spawned process\n"));
    assert_eq!(later.str("id"), Some("spawner"));
    assert_eq!(later.str("session"), Some(session.as_str()));
}

/// A request with string fields and one dictionary field, as CIDER sends
/// its print options.
fn request_with(fields: &[(&str, &str)], dicts: &[(&str, B)]) -> B {
    let mut request = request(fields);
    if let B::Dict(entries) = &mut request {
        entries.extend(dicts.iter().map(|(k, v)| (k.to_string(), v.clone())));
    }
    request
}

/// The replies to one request, with the fields of all of them together
/// (strings concatenated, as CIDER shows `out` and `err`).
fn combined(replies: &[B], key: &str) -> String {
    replies.iter().filter_map(|r| r.str(key)).collect()
}

/// CIDER's conversation with the server, request for request as CIDER
/// (1.x, without its cider-nrepl middleware) sends them: the connection's
/// two sessions and `describe`, the form it reads the REPL's namespace
/// from, evaluations from a buffer with the fields and print options it
/// adds, the form it fills its error buffer with after an error,
/// completion (both shapes of `complete`), eldoc, info and load-file of a
/// `.calf` buffer.
#[test]
fn ciders_requests_get_the_answers_cider_reads() {
    let server = Server::start("cider");
    let mut cider = server.connect();
    let main = cider.clone_session();
    let tooling = cider.clone_session();
    assert_ne!(main, tooling);

    cider.send(&request(&[
        ("op", "describe"),
        ("id", "d"),
        ("session", &main),
    ]));
    let described = cider.until_done("d").remove(0);
    let ops = match described.get("ops") {
        Some(B::Dict(ops)) => ops.iter().map(|(op, _)| op.clone()).collect::<Vec<_>>(),
        other => panic!("no ops in describe: {other:?}"),
    };
    for op in [
        "eval",
        "load-file",
        "complete",
        "info",
        "eldoc",
        "interrupt",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:?}");
    }
    let nrepl = described
        .get("versions")
        .and_then(|v| v.get("nrepl"))
        .and_then(|v| v.str("version-string"));
    assert_eq!(nrepl, Some("1.0.0"), "{described:?}");
    // Without a "clojure" version CIDER takes the server for another
    // runtime than Clojure, and expects no Clojure nor cider-nrepl.
    assert_eq!(
        described.get("versions").and_then(|v| v.get("clojure")),
        None
    );

    // CIDER reads this value with Emacs's `read`, to name the REPL's
    // namespace: no value at all would make Emacs ask the user for one.
    cider.send(&request(&[
        ("op", "eval"),
        ("id", "init"),
        ("session", &main),
        (
            "code",
            "(do (when (clojure.core/resolve 'clojure.main/repl-requires)\n                            (clojure.core/map clojure.core/require clojure.main/repl-requires))\n                           (str *ns*))",
        ),
        ("inhibit-cider-middleware", "true"),
    ]));
    let init = cider.until_done("init");
    assert_eq!(combined(&init, "value"), "\"user\"", "{init:?}");
    assert_eq!(combined(&init, "err"), "");

    // Then its `cider-repl-init-code`, which Calva also evaluates on
    // connecting (`calva.autoEvaluateCode.onConnect.clj`).
    cider.send(&request(&[
        ("op", "eval"),
        ("id", "init-code"),
        ("session", &main),
        ("ns", "user"),
        (
            "code",
            "(when-let [requires (resolve 'clojure.main/repl-requires)] (clojure.core/apply clojure.core/require @requires))",
        ),
    ]));
    let init_code = cider.until_done("init-code");
    assert_eq!(combined(&init_code, "value"), "nil", "{init_code:?}");
    assert_eq!(combined(&init_code, "err"), "");

    // C-c C-c on a top-level form of a buffer.
    let print_options = B::Dict(vec![("right-margin".into(), B::Int(80))]);
    let from_buffer = |id: &'static str, code: &'static str, line: &'static str| {
        request_with(
            &[
                ("op", "eval"),
                ("id", id),
                ("session", main.as_str()),
                ("code", code),
                ("ns", "user"),
                ("file", "/project/src/app.calf"),
                ("line", line),
                ("column", "1"),
                ("nrepl.middleware.print/print", "cider.nrepl.pprint/pprint"),
                ("nrepl.middleware.print/stream?", "1"),
                ("nrepl.middleware.print/quota", "1048576"),
                (
                    "nrepl.middleware.caught/caught",
                    "cider.nrepl.middleware.util.error-handling/pp-stacktrace",
                ),
                ("nrepl.middleware.caught/print?", "1"),
            ],
            &[("nrepl.middleware.print/options", print_options.clone())],
        )
    };
    // CIDER sends line and column as integers.
    let with_ints = |mut request: B| {
        if let B::Dict(entries) = &mut request {
            for (key, value) in entries.iter_mut() {
                if key == "line" || key == "column" {
                    if let B::Str(n) = value {
                        *value = B::Int(n.parse().unwrap());
                    }
                }
            }
        }
        request
    };
    cider.send(&with_ints(from_buffer(
        "defn",
        "(defn greet\n  \"Says hi.\"\n  [who] (str \"hi \" who))",
        "3",
    )));
    assert_eq!(combined(&cider.until_done("defn"), "value"), "user/greet");
    cider.send(&with_ints(from_buffer(
        "call",
        "(do (println \"hello\") (greet \"you\"))",
        "6",
    )));
    let call = cider.until_done("call");
    assert_eq!(combined(&call, "out"), "hello\n");
    assert_eq!(combined(&call, "value"), "\"hi you\"");
    assert_eq!(call.last().unwrap().statuses(), ["done"]);

    cider.send(&with_ints(from_buffer("boom", "(/ 1 0)", "9")));
    let boom = cider.until_done("boom");
    assert!(
        combined(&boom, "err").contains("/project/src/app.calf:9:1"),
        "{boom:?}"
    );
    assert_eq!(combined(&boom, "ex"), "calf/divide-by-zero");
    assert!(boom
        .iter()
        .any(|r| r.statuses().iter().any(|s| s == "eval-error")));
    // Then, without cider-nrepl's stacktrace op, CIDER fills its error
    // buffer with what this prints.
    cider.send(&request(&[
        ("op", "eval"),
        ("id", "trace"),
        ("session", &main),
        ("code", "(clojure.stacktrace/print-cause-trace *e)"),
    ]));
    let trace = cider.until_done("trace");
    let shown = combined(&trace, "out");
    assert!(
        shown.contains("divide by zero") && shown.contains("/project/src/app.calf:9:1"),
        "{trace:?}"
    );
    assert_eq!(combined(&trace, "err"), "", "{trace:?}");

    // Completion at point: CIDER 1.x sends prefix and context, older ones
    // symbol.
    cider.send(&request(&[
        ("op", "complete"),
        ("id", "c1"),
        ("session", &tooling),
        ("ns", "user"),
        ("prefix", "gre"),
        ("context", "(__prefix__ \"you\")"),
    ]));
    let c1 = cider.until_done("c1").remove(0);
    cider.send(&request(&[
        ("op", "complete"),
        ("id", "c2"),
        ("session", &tooling),
        ("ns", "user"),
        ("symbol", "gre"),
        ("context", ":same"),
    ]));
    let c2 = cider.until_done("c2").remove(0);
    for answer in [&c1, &c2] {
        let Some(B::List(candidates)) = answer.get("completions") else {
            panic!("no completions: {answer:?}");
        };
        assert!(
            candidates
                .iter()
                .any(|c| c.str("candidate") == Some("greet") && c.str("type") == Some("function")),
            "{answer:?}"
        );
    }

    // Eldoc in the echo area, and C-c C-d C-d / M-. (info).
    cider.send(&request(&[
        ("op", "eldoc"),
        ("id", "e"),
        ("session", &tooling),
        ("ns", "user"),
        ("sym", "greet"),
    ]));
    let eldoc = cider.until_done("e").remove(0);
    assert_eq!(
        eldoc.get("eldoc"),
        Some(&B::List(vec![B::List(vec![B::Str("who".into())])]))
    );
    assert_eq!(eldoc.str("docstring"), Some("Says hi."));
    cider.send(&request(&[
        ("op", "info"),
        ("id", "i"),
        ("session", &tooling),
        ("ns", "user"),
        ("sym", "greet"),
    ]));
    let info = cider.until_done("i").remove(0);
    assert_eq!(info.str("arglists-str"), Some("([who])"));
    assert_eq!(info.str("doc"), Some("Says hi."));
    assert_eq!(info.str("file"), Some("/project/src/app.calf"));
    assert_eq!(info.get("line"), Some(&B::Int(3)));

    // C-c C-k in a .calf buffer.
    let path = server.dir.join("app").join("shapes.calf");
    cider.send(&request(&[
        ("op", "load-file"),
        ("id", "load"),
        ("session", &main),
        (
            "file",
            "(ns app.shapes)\n\n(defn area [{:keys [w h]}] (* w h))\n(area {:w 2 :h 3})\n",
        ),
        ("file-path", &path.to_string_lossy()),
        ("file-name", "shapes.calf"),
    ]));
    let load = cider.until_done("load");
    assert_eq!(combined(&load, "value"), "6", "{load:?}");
    cider.send(&request(&[
        ("op", "eval"),
        ("id", "in-ns"),
        ("session", &main),
        ("ns", "app.shapes"),
        ("code", "(area {:w 3 :h 3})"),
    ]));
    let in_ns = cider.until_done("in-ns");
    assert_eq!(combined(&in_ns, "value"), "9");
    assert_eq!(combined(&in_ns, "ns"), "app.shapes");
    // The session is now in app.shapes, where `*e` and `(str *ns*)`
    // answer too (newer CIDER prints `(ex-data *e)` when it finds no
    // clojure.stacktrace).
    cider.send(&request(&[
        ("op", "eval"),
        ("id", "ns-now"),
        ("session", &main),
        ("code", "(str *ns*)"),
    ]));
    assert_eq!(
        combined(&cider.until_done("ns-now"), "value"),
        "\"app.shapes\""
    );
    cider.send(&request(&[
        ("op", "eval"),
        ("id", "ex-data"),
        ("session", &main),
        ("code", "(println (ex-data *e))"),
    ]));
    let ex_data = cider.until_done("ex-data");
    assert!(
        combined(&ex_data, "out").contains(":type :calf/divide-by-zero"),
        "{ex_data:?}"
    );
    cider.send(&request(&[
        ("op", "info"),
        ("id", "i2"),
        ("session", &tooling),
        ("ns", "app.shapes"),
        ("sym", "area"),
    ]));
    let info = cider.until_done("i2").remove(0);
    assert_eq!(info.str("file"), Some(path.to_string_lossy().as_ref()));
    assert_eq!(info.get("line"), Some(&B::Int(3)));
}

/// Calf reads no standard input: `stdin` is answered, and says so.
#[test]
fn stdin_is_answered_and_says_calf_reads_no_input() {
    let server = Server::start("stdin");
    let mut client = server.connect();
    let session = client.clone_session();
    client.send(&request(&[
        ("op", "stdin"),
        ("id", "in"),
        ("session", &session),
        ("stdin", "some input\n"),
    ]));
    let replies = client.until_done("in");
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].statuses(), ["done"]);
    assert_eq!(client.eval("after", &session, "(+ 1 2)"), "3");
}

/// An eval in a namespace that does not exist is refused, as Clojure's
/// server refuses it; once a file creates it, evals run there.
#[test]
fn an_eval_in_a_namespace_not_made_yet_is_namespace_not_found() {
    let server = Server::start("no-such-ns");
    let mut client = server.connect();
    let session = client.clone_session();
    client.send(&request(&[
        ("op", "eval"),
        ("id", "early"),
        ("session", &session),
        ("code", "(+ 1 2)"),
        ("ns", "app.later"),
    ]));
    let replies = client.until_done("early");
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(
        replies[0].statuses(),
        ["error", "namespace-not-found", "done"]
    );
    assert_eq!(client.eval("make", &session, "(ns app.later)"), "nil");
    client.send(&request(&[
        ("op", "eval"),
        ("id", "later"),
        ("session", &session),
        ("code", "(+ 1 2)"),
        ("ns", "app.later"),
    ]));
    let replies = client.until_done("later");
    assert_eq!(combined(&replies, "value"), "3", "{replies:?}");
}

/// `--port` and `--bind` are used as given.
#[test]
fn an_explicit_port_and_address_are_used() {
    // A port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server = Server::start_with(
        "port",
        &["--port", &port.to_string(), "--bind", "127.0.0.1"],
    );
    assert_eq!(server.port, port);
    let mut client = server.connect();
    let session = client.clone_session();
    assert_eq!(client.eval("e", &session, "(* 6 7)"), "42");
}

/// Output (`out`, and `err` for standard error) is sent as it is
/// printed, before the evaluation ends; `lookup`
/// answers a var's info in a map of its own.
#[test]
fn output_streams_while_an_evaluation_runs_and_lookup_answers() {
    let server = Server::start("stream");
    let mut client = server.connect();
    let waiting = client.clone_session();
    client.send(&request(&[
        ("op", "eval"),
        ("id", "wait"),
        ("session", &waiting),
        (
            "code",
            "(do (register! :waiter (self)) (println \"first\") (eprintln \"then\") (receive :go :went))",
        ),
    ]));
    let first = client
        .next()
        .expect("the output, while the evaluation waits");
    assert_eq!(first.str("out"), Some("first\n"), "{first:?}");
    assert_eq!(first.str("id"), Some("wait"));
    let second = client.next().expect("the error output, while it waits");
    assert_eq!(second.str("err"), Some("then\n"), "{second:?}");

    let mut other = server.connect();
    let session = other.clone_session();
    assert_eq!(other.eval("go", &session, "(send :waiter :go)"), ":go");
    let replies = client.until_done("wait");
    assert_eq!(combined(&replies, "value"), ":went");

    other.send(&request(&[
        ("op", "lookup"),
        ("id", "l"),
        ("session", &session),
        ("ns", "user"),
        ("sym", "mapcat"),
    ]));
    let lookup = other.until_done("l").remove(0);
    let info = lookup.get("info").expect("an info map");
    assert_eq!(info.str("name"), Some("mapcat"));
    assert_eq!(info.str("ns"), Some("calf.core"));
    assert!(
        info.str("arglists-str").is_some_and(|a| a.contains("f")),
        "{lookup:?}"
    );
    assert!(info.str("doc").is_some(), "{lookup:?}");
    other.send(&request(&[
        ("op", "lookup"),
        ("id", "l2"),
        ("session", &session),
        ("sym", "no-such-var"),
    ]));
    let missing = other.until_done("l2").remove(0);
    assert_eq!(missing.get("info"), Some(&B::Dict(Vec::new())));
    assert_eq!(missing.statuses(), ["done"]);
}

/// Conjure's conversation on connecting and evaluating, request for
/// request as its nREPL client sends them (read from Conjure's source):
/// `describe` and `ls-sessions` without a session, the probe of a
/// session's type (a reader conditional, which Calf does not read: Conjure
/// then calls the session's type unknown), `clone`, its Clojure preamble
/// (which fails at its first form and leaves the namespace alone), and an
/// evaluation with the fields and print options it adds.
#[test]
fn conjures_requests_are_answered() {
    let server = Server::start("conjure");
    let mut conjure = server.connect();
    conjure.send(&request(&[("op", "describe"), ("id", "d")]));
    let described = conjure.until_done("d").remove(0);
    assert!(matches!(described.get("ops"), Some(B::Dict(ops)) if !ops.is_empty()));
    conjure.send(&request(&[("op", "ls-sessions"), ("id", "ls")]));
    let listed = conjure.until_done("ls").remove(0);
    assert!(
        matches!(listed.get("sessions"), Some(B::List(_))),
        "{listed:?}"
    );

    let session = conjure.clone_session();
    conjure.send(&request(&[
        ("op", "eval"),
        ("id", "type"),
        ("session", &session),
        (
            "code",
            "#?(:clj 'clj :cljs 'cljs :cljr 'cljr :default 'unknown)",
        ),
    ]));
    let probed = conjure.until_done("type");
    assert_eq!(combined(&probed, "value"), "", "{probed:?}");
    assert!(combined(&probed, "err").contains("reader conditionals"));

    conjure.send(&request(&[
        ("op", "eval"),
        ("id", "preamble"),
        ("session", &session),
        (
            "code",
            "(create-ns 'conjure.internal)\n(intern 'conjure.internal 'initial-ns (symbol (str *ns*)))\n(ns conjure.internal\n  (:require [clojure.pprint :as pp] [clojure.test] [clojure.data] [clojure.string]))\n(in-ns initial-ns)",
        ),
    ]));
    let preamble = conjure.until_done("preamble");
    assert_eq!(combined(&preamble, "ns"), "user", "{preamble:?}");

    let options = B::Dict(vec![
        ("associative".into(), B::Int(1)),
        ("right-margin".into(), B::Int(80)),
    ]);
    conjure.send(&request_with(
        &[
            ("op", "eval"),
            ("id", "e"),
            ("session", &session),
            ("ns", "user"),
            ("code", "(+ 1 2)"),
            ("file", "/project/src/app.calf"),
            ("line", "4"),
            ("column", "1"),
            ("nrepl.middleware.print/print", "conjure.internal/pprint"),
        ],
        &[
            ("nrepl.middleware.print/options", options),
            ("nrepl.middleware.print/quota", B::Int(1 << 20)),
        ],
    ));
    let evaluated = conjure.until_done("e");
    assert_eq!(combined(&evaluated, "value"), "3", "{evaluated:?}");
    assert_eq!(combined(&evaluated, "ns"), "user");
}

/// Calva's requests, as its nREPL client sends them (read from its
/// source): `*ns*` on a connection with no session yet, `clone` once that
/// is done, a verbose `describe`, its default form on connecting, an
/// evaluation, completion, info, load-file, and `classpath` (a
/// cider-nrepl op, which Calva does without).
#[test]
fn calvas_requests_are_answered() {
    let server = Server::start("calva");
    let mut calva = server.connect();
    calva.send(&request(&[("op", "eval"), ("id", "1"), ("code", "*ns*")]));
    let first = calva.until_done("1");
    assert_eq!(combined(&first, "ns"), "user", "{first:?}");
    assert_eq!(combined(&first, "value"), "user");
    assert_eq!(combined(&first, "err"), "");
    let session = calva.clone_session();
    calva.send(&request_with(
        &[("op", "describe"), ("id", "3"), ("session", &session)],
        &[("verbose", B::Int(1))],
    ));
    assert_eq!(calva.until_done("3").last().unwrap().statuses(), ["done"]);

    let eval = |calva: &mut Client, id: &str, code: &str| {
        calva.send(&request_with(
            &[
                ("op", "eval"),
                ("id", id),
                ("session", &session),
                ("code", code),
                ("ns", "user"),
                ("file", "/project/src/app.calf"),
            ],
            &[
                ("line", B::Int(2)),
                ("column", B::Int(1)),
                ("pprint", B::Int(0)),
            ],
        ));
        calva.until_done(id)
    };
    let on_connect = eval(
        &mut calva,
        "4",
        "(when-let [requires (resolve 'clojure.main/repl-requires)]\n  (clojure.core/apply clojure.core/require @requires))",
    );
    assert_eq!(combined(&on_connect, "value"), "nil", "{on_connect:?}");
    let defined = eval(&mut calva, "5", "(defn area [w h] (* w h))");
    assert_eq!(combined(&defined, "value"), "user/area");
    assert_eq!(combined(&eval(&mut calva, "6", "(area 2 3)"), "value"), "6");

    calva.send(&request(&[
        ("op", "complete"),
        ("id", "7"),
        ("session", &session),
        ("ns", "user"),
        ("symbol", "are"),
        ("context", "(__prefix__ 2 3)"),
    ]));
    let completed = calva.until_done("7").remove(0);
    assert!(
        matches!(completed.get("completions"), Some(B::List(c))
            if c.iter().any(|c| c.str("candidate") == Some("area"))),
        "{completed:?}"
    );
    calva.send(&request(&[
        ("op", "info"),
        ("id", "8"),
        ("session", &session),
        ("ns", "user"),
        ("symbol", "area"),
    ]));
    let info = calva.until_done("8").remove(0);
    assert_eq!(info.str("arglists-str"), Some("([w h])"), "{info:?}");
    assert_eq!(info.get("line"), Some(&B::Int(2)));

    let path = server.dir.join("app").join("sizes.calf");
    calva.send(&request(&[
        ("op", "load-file"),
        ("id", "9"),
        ("session", &session),
        ("file", "(ns app.sizes)\n(def big 100)\nbig\n"),
        ("file-name", "sizes.calf"),
        ("file-path", &path.to_string_lossy()),
    ]));
    assert_eq!(combined(&calva.until_done("9"), "value"), "100");

    calva.send(&request(&[
        ("op", "classpath"),
        ("id", "10"),
        ("session", &session),
    ]));
    let classpath = calva.until_done("10").remove(0);
    assert_eq!(classpath.statuses(), ["error", "unknown-op", "done"]);
}
