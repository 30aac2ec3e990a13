//! Three `calf serve` nodes on one real nats-server behave as one
//! scheduler: a token passed round a ring of processes spread over them,
//! a supervisor restarting a child on another node, a node killed with
//! SIGKILL (its links break with `:noconnection`, its durable processes
//! move, a global name its process held moves with the supervisor's
//! restart), and submissions spread over the nodes.

mod support {
    pub mod http;
    pub mod serve;
}

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::http::{basic, http};
use support::serve::{example_config, ok, scratch, write_nats_config, Nats, Node, ACME};

/// A nats-server and three nodes, `serve-1` to `serve-3`, with leases of
/// a second.
struct Cluster {
    dir: PathBuf,
    nodes: Vec<Node>,
    // Dropped last: the nodes go first.
    _nats: Nats,
}

fn cluster(name: &str) -> Cluster {
    cluster_with(name, &[])
}

/// The same, with `more` arguments for node 1.
fn cluster_with(name: &str, more: &[&str]) -> Cluster {
    let dir = scratch(name);
    let config = example_config();
    let conf = dir.join("nats.conf");
    write_nats_config(&config, &conf);
    let nats = Nats::start(&conf, &dir.join("jetstream"));
    let nodes = (1..=3)
        .map(|i| {
            let node = format!("serve-{i}");
            let mut args = vec!["--durable", &node, "--lease-ms", "1000"];
            if i == 1 {
                args.extend_from_slice(more);
            }
            Node::start(&nats.url(), &config, ACME, &args)
        })
        .collect();
    let cluster = Cluster {
        dir,
        nodes,
        _nats: nats,
    };
    // Each node knows the others once it has read their leases.
    for node in ["serve-1", "serve-2", "serve-3"] {
        let start = Instant::now();
        loop {
            let job = cluster.submit("(println \"knows\" (count (nodes)))", Some(node));
            if cluster.wait_for_output(&job, "knows") == "knows 2\n" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{node} never knew the others"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    cluster
}

impl Cluster {
    /// Submits `source` (pinned to `node`, if given) through node 1's
    /// connection; the pid `calf submit` prints.
    fn submit(&self, source: &str, node: Option<&str>) -> String {
        let main = self.dir.join("main.calf");
        std::fs::write(&main, source).expect("main.calf is written");
        let main = main.display().to_string();
        let mut args = vec!["submit", main.as_str()];
        if let Some(node) = node {
            args = vec!["submit", "--node", node, main.as_str()];
        }
        ok("calf submit", self.nodes[0].verb(ACME, &args))
            .trim()
            .to_string()
    }

    /// Waits until the job `pid`'s output holds `needle`; the output.
    fn wait_for_output(&self, pid: &str, needle: &str) -> String {
        self.wait_until(pid, |text| text.contains(needle))
    }

    /// Waits until the job `pid`'s output is `done`; the output.
    fn wait_until(&self, pid: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let logs = self.nodes[0].verb(ACME, &["logs", pid]);
            let text = String::from_utf8_lossy(&logs.stdout).into_owned();
            if done(&text) {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the output of {pid} never came:\n{text}{}\nnode logs:\n{}",
                String::from_utf8_lossy(&logs.stderr),
                self.nodes
                    .iter()
                    .map(Node::log)
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The node index in a pid as `calf submit` prints it (`<2.1>`).
fn node_of(pid: &str) -> u32 {
    pid.trim_matches(['<', '>'])
        .split_once('.')
        .and_then(|(node, _)| node.parse().ok())
        .unwrap_or_else(|| panic!("{pid} names no node"))
}

#[test]
fn a_token_goes_round_a_ring_spread_over_three_nodes() {
    let cluster = cluster("cluster-ring");
    let job = cluster.submit(
        r#"
(defn relay-loop [nxt]
  (receive [:token n main]
    (do (if (zero? n)
          (send main [:done (node)])
          (send nxt [:token (dec n) main]))
        (relay-loop nxt))))
(defn relay [] (receive [:next nxt] (relay-loop nxt)))
(def everywhere (vec (cons (node) (nodes))))
(def ring (vec (for [i (range 6)] (spawn-on (nth everywhere (mod i 3)) relay))))
(doseq [i (range 6)] (send (nth ring i) [:next (nth ring (mod (inc i) 6))]))
(println "on" (count (set (map node ring))) "nodes")
(send (first ring) [:token 3000 (self)])
(receive [:done where] (println "3000 hops, the last on" where)
  (after 30000 (println "the token was lost")))
(defn in-order [expected main]
  (receive [:n k]
    (cond (not= k expected) (send main [:ordered false])
          (= k 9999) (send main [:ordered true])
          :else (in-order (inc k) main))))
(def checker (spawn-on (second everywhere) in-order 0 (self)))
(dotimes [k 10000] (send checker [:n k]))
(println "10000 messages in order:" (receive [:ordered ok] ok (after 30000 :timeout)))
"#,
        Some("serve-1"),
    );
    let output = cluster.wait_for_output(&job, "hops");
    assert!(output.contains("on 3 nodes\n"), "{output}");
    assert!(
        output.contains("3000 hops, the last on serve-1\n"),
        "{output}"
    );
    let output = cluster.wait_for_output(&job, "in order:");
    assert!(
        output.contains("10000 messages in order: true\n"),
        "{output}"
    );
}

#[test]
fn a_supervisor_restarts_a_child_that_crashed_on_another_node() {
    let cluster = cluster("cluster-supervisor");
    let job = cluster.submit(
        r#"
(require '[calf.supervisor :as sup])
(defn worker []
  (register-global :worker (self))
  (receive :crash (throw (ex-info "boom" {}))))
(defn await-worker [old]
  (let [p (whereis :worker)]
    (if (and p (not= p old)) p (do (sleep 20) (await-worker old)))))
(def s (sup/start-link {:strategy :one-for-one :intensity 5}
                       [{:id :w :start [worker] :node "serve-2"}]))
(def first-pid (await-worker nil))
(println "first on" (node first-pid))
(send first-pid :crash)
(def second-pid (await-worker first-pid))
(println "restarted on" (node second-pid) (not= first-pid second-pid))
(println "children" (count (sup/which-children s)))
"#,
        Some("serve-1"),
    );
    let output = cluster.wait_for_output(&job, "children");
    assert!(output.contains("first on serve-2\n"), "{output}");
    assert!(output.contains("restarted on serve-2 true\n"), "{output}");

    // Monitors, exits and links reach a durable process on another node,
    // as the store says where it runs.
    let job = cluster.submit(
        r#"
(def d (do (spawn-on "serve-2" (fn [main] (send main [:d (spawn-durable (fn [] (receive :never nil)))])) (self))
           (receive [:d p] p)))
(def r (monitor d))
(exit d :finished)
(receive [:DOWN ref pid reason] (println "down" (= ref r) (= pid d) reason)
  (after 10000 (println "no DOWN")))
(trap-exit! true)
(link d)
(receive [:EXIT pid reason] (println "link to it, ended:" (= pid d) reason)
  (after 10000 (println "no EXIT")))
"#,
        Some("serve-1"),
    );
    let output = cluster.wait_for_output(&job, "link to it");
    assert!(output.contains("down true true :finished\n"), "{output}");
    assert!(
        output.contains("link to it, ended: true :noproc\n"),
        "{output}"
    );
}

#[test]
fn a_node_killed_breaks_its_links_moves_its_durable_processes_and_its_global_name() {
    let mut cluster = cluster("cluster-kill");
    let job = cluster.submit(
        r#"
(require '[calf.supervisor :as sup])
(defn watcher [target parent]
  (trap-exit! true)
  (link target)
  (send parent [:linked])
  (receive [:EXIT p reason] (send parent [:saw (node) (= p target) reason])))
(defn counter [n]
  (receive [:ping from] (do (send from [:pong (node) n]) (counter (inc n)))))
(defn named []
  (register-global :named (self))
  (receive :never nil))
(defn await-named [old]
  (let [p (whereis :named)]
    (if (and p (not= p old)) p (do (sleep 20) (await-named old)))))
(def victim (spawn-on "serve-3" (fn [] (receive :never nil))))
(trap-exit! true)
(link victim)
(spawn-on "serve-2" watcher victim (self))
(receive [:linked] nil)
(def durable (do (spawn-on "serve-3" (fn [parent] (send parent [:durable (spawn-durable counter 0)])) (self))
                 (receive [:durable pid] pid)))
(send durable [:ping (self)])
(println "before" (receive [:pong where n] [where n]))
(def s (sup/start-link {:strategy :one-for-one :intensity 5}
                       [{:id :n :start [named] :node ["serve-3" "serve-2"]}]))
(def named-before (await-named nil))
(println "named on" (node named-before))
(println "ready")
(receive [:EXIT p reason] (println "serve-1 saw" (= p victim) reason))
(receive [:saw where same reason] (println where "saw" same reason))
(def named-after (await-named named-before))
(println "named moved to" (node named-after))
(send durable [:ping (self)])
(println "after" (receive [:pong where n] [(not= where "serve-3") n]))
"#,
        Some("serve-1"),
    );
    cluster.wait_for_output(&job, "ready");
    let killed = Instant::now();
    cluster.nodes[2].crash();
    let output = cluster.wait_for_output(&job, "after");
    let took = killed.elapsed();
    assert!(
        output.contains("before [serve-3 0]\n"),
        "the durable process ran on serve-3 first:\n{output}"
    );
    assert!(output.contains("named on serve-3\n"), "{output}");
    assert!(
        output.contains("serve-1 saw true :noconnection\n"),
        "{output}"
    );
    assert!(
        output.contains("serve-2 saw true :noconnection\n"),
        "{output}"
    );
    assert!(output.contains("named moved to serve-2\n"), "{output}");
    assert!(
        output.contains("after [true 1]\n"),
        "the durable process moved, its state with it:\n{output}"
    );
    // A lease of a second, read every third of it, and the restore.
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_node_back_after_its_lease_lapsed_does_not_run_what_others_took_over() {
    let cluster = cluster("cluster-fencing");
    let job = cluster.submit(
        r#"
(defn ticker [main n]
  (send main [:tick (node) n])
  (sleep 100)
  (ticker main (inc n)))
(spawn-on "serve-3" (fn [main] (spawn-durable ticker main 0)) (self))
(defn listen []
  (receive [:tick where n] (do (println "tick" where n) (listen))
           (after 20000 (println "quiet"))))
(listen)
"#,
        Some("serve-1"),
    );
    cluster.wait_for_output(&job, "tick serve-3");
    // Stopped longer than its lease: the others take its process over.
    cluster.nodes[2].signal("-STOP");
    let text = cluster.wait_until(&job, |text| {
        text.contains("tick serve-1") || text.contains("tick serve-2")
    });
    let taken_over = text.len();
    cluster.nodes[2].signal("-CONT");
    std::thread::sleep(Duration::from_secs(3));
    let text = cluster.wait_for_output(&job, "tick");
    let after = &text[taken_over..];
    assert!(
        !after.contains("tick serve-3"),
        "the node that came back ran on what another took over:\n{text}"
    );
    let ticks: Vec<u64> = after
        .lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(ticks.len() > 10, "the new copy runs on:\n{text}");
    assert!(
        ticks.windows(2).all(|w| w[1] == w[0] + 1),
        "one copy, counting on from its save:\n{text}"
    );
}

#[test]
fn submissions_spread_over_the_nodes_and_node_pins_one() {
    let cluster = cluster_with("cluster-spread", &["--http", "127.0.0.1:0"]);
    let nodes: BTreeSet<u32> = (0..30)
        .map(|_| node_of(&cluster.submit("(println (node))", None)))
        .collect();
    assert_eq!(nodes.len(), 3, "submissions went to {nodes:?}");
    let pinned = cluster.submit("(println \"here:\" (node))", Some("serve-3"));
    let output = cluster.wait_for_output(&pinned, "here:");
    assert_eq!(output, "here: serve-3\n");
    // `calf ps` from any node lists every node's processes.
    let job = cluster.submit(
        "(def everywhere (vec (cons (node) (nodes))))
         (doseq [n everywhere] (spawn-on n (fn [] (receive :never nil))))
         (println \"spawned\")
         (receive :never nil)",
        Some("serve-2"),
    );
    cluster.wait_for_output(&job, "spawned");
    let table = ok("calf ps", cluster.nodes[0].verb(ACME, &["ps"]));
    let on: BTreeSet<u32> = table
        .lines()
        .skip(1)
        .filter_map(|row| row.split_whitespace().next())
        .filter(|pid| pid.contains('.'))
        .map(node_of)
        .collect();
    assert_eq!(on.len(), 3, "calf ps shows every node:\n{table}");
    // So does the dashboard of node 1.
    let log = cluster.nodes[0].log();
    let address = log
        .split("dashboard on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the dashboard's address in the log");
    let (status, body) = http(address, "GET", "/api/overview", &[&basic(ACME)], "");
    assert_eq!(status, 200, "{body}");
    let overview: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let acme = &overview["tenants"][0];
    let on: BTreeSet<u64> = acme["top"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["pid"].as_u64().expect("a pid") >> 42)
        .collect();
    assert_eq!(on.len(), 3, "the dashboard shows every node:\n{acme}");
    let counted = acme["summary"]["processes"].as_u64().expect("a count");
    assert!(counted >= 4, "the summary adds every node's up:\n{acme}");
    // `calf inspect` and `calf kill` reach a process on whichever node.
    let remote = table
        .lines()
        .skip(1)
        .filter_map(|row| row.split_whitespace().next())
        .find(|pid| pid.contains('.') && node_of(pid) != node_of(&job))
        .expect("a process on another node than the job's")
        .to_string();
    let detail = ok(
        "calf inspect",
        cluster.nodes[0].verb(ACME, &["inspect", &remote]),
    );
    assert!(
        detail.contains(&format!("pid          {remote}")),
        "{detail}"
    );
    ok("calf kill", cluster.nodes[0].verb(ACME, &["kill", &remote]));
    let start = Instant::now();
    while cluster.nodes[0]
        .verb(ACME, &["inspect", &remote])
        .status
        .success()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{remote} was not killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A message too large for the NATS server is refused at the send.
    let big = cluster.submit(
        "(def other (spawn-on (first (nodes)) (fn [] (receive :never nil))))
         (println (try (send other (apply str (repeat 2000000 \"x\")))
                       (catch e (:type (ex-data e)))))",
        Some("serve-1"),
    );
    let output = cluster.wait_for_output(&big, "calf/");
    assert_eq!(output, ":calf/not-sendable\n");
}
