module calf.example/worker

go 1.19

// The versions Debian 12 packages (golang-github-nats-io-go-nats-dev,
// golang-github-vmihailenco-msgpack.v5-dev), which scripts/setup-test-env
// builds against in GOPATH mode; `go mod tidy` fetches these through the
// module proxy.
require (
	github.com/nats-io/nats.go v1.22.1
	github.com/vmihailenco/msgpack/v5 v5.3.5
)
