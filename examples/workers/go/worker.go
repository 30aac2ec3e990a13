// A Calf worker in Go, built on nats.go's services framework, micro: each
// subject is a micro service, so `nats micro ls` and the framework's PING,
// INFO and STATS requests see it, and its error replies carry the
// Nats-Service-Error headers Calf reads.
//
//	bin/worker [NATS_URL]    (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// scripts/setup-test-env builds bin/worker against Debian's packages of
// nats.go and msgpack; with the module proxy, `go mod tidy && go run .`
// builds it against the same versions (go.mod).
//
// Answers four subjects, as the Python and Node example workers do:
//
//	math.add  [a, b]       -> a + b
//	echo      any value    -> the same value (Calf's ext types pass through)
//	fail      {"code": ..., "message": ..., "retryable": ..., "data": ...}
//	                       -> an error reply with that code (only "code" is needed)
//	slow      ms           -> sleeps ms milliseconds, then answers ms
//
// On SIGTERM or ctrl-c it stops taking requests, answers the ones it has,
// and exits.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/vmihailenco/msgpack/v5"
)

// A handler takes a request's MessagePack body and returns the reply's.
type handler func(body []byte) ([]byte, error)

// failure is an error the caller asked for: its reply says the code.
type failure struct {
	code, message string
	retryable     *bool
	data          []byte
}

func (f *failure) Error() string { return f.message }

// decode reads one MessagePack value; numbers come back as int64, uint64
// or float64 whatever their encoding.
func decode(body []byte, into any) error {
	d := msgpack.NewDecoder(bytes.NewReader(body))
	d.UseLooseInterfaceDecoding(true)
	return d.Decode(into)
}

func mathAdd(body []byte) ([]byte, error) {
	var args []any
	if err := decode(body, &args); err != nil {
		return nil, err
	}
	if len(args) != 2 {
		return nil, fmt.Errorf("math.add takes [a, b], got %d values", len(args))
	}
	a, aInt := integer(args[0])
	b, bInt := integer(args[1])
	if aInt && bInt {
		if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
			return nil, fmt.Errorf("%d + %d does not fit in 64 bits", a, b)
		}
		return msgpack.Marshal(a + b)
	}
	x, xOk := float(args[0])
	y, yOk := float(args[1])
	if !xOk || !yOk {
		return nil, fmt.Errorf("math.add takes two numbers, got %v", args)
	}
	return msgpack.Marshal(x + y)
}

// integer is v as an int64 if it is one: MessagePack writes a positive
// int in the unsigned formats, which decode as uint64.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	}
	return 0, false
}

func float(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// echo answers with the request's own bytes: every value, ext types
// included, comes back exactly as it was sent.
func echo(body []byte) ([]byte, error) {
	return body, nil
}

func fail(body []byte) ([]byte, error) {
	var spec map[string]msgpack.RawMessage
	if err := decode(body, &spec); err != nil {
		return nil, fmt.Errorf("fail takes a map with a code: %w", err)
	}
	field := func(name string) (any, bool) {
		raw, ok := spec[name]
		if !ok {
			return nil, false
		}
		var v any
		if decode(raw, &v) != nil {
			return nil, false
		}
		return v, true
	}
	code, ok := field("code")
	if !ok {
		return nil, errors.New("fail takes a map with a code")
	}
	f := &failure{code: fmt.Sprint(code), message: "failed", data: spec["data"]}
	if m, ok := field("message"); ok {
		f.message = fmt.Sprint(m)
	}
	if r, ok := field("retryable"); ok {
		if r, isBool := r.(bool); isBool {
			f.retryable = &r
		}
	}
	return nil, f
}

func slow(body []byte) ([]byte, error) {
	var ms any
	if err := decode(body, &ms); err != nil {
		return nil, err
	}
	n, ok := float(ms)
	if !ok {
		return nil, fmt.Errorf("slow takes a number of milliseconds, got %v", ms)
	}
	time.Sleep(time.Duration(n * float64(time.Millisecond)))
	return msgpack.Marshal(ms)
}

var handlers = []struct {
	subject string
	handle  handler
}{
	{"math.add", mathAdd},
	{"echo", echo},
	{"fail", fail},
	{"slow", slow},
}

// inFlight counts the requests being answered, which a stop waits for.
var inFlight sync.WaitGroup

// concurrently answers each request on its own goroutine: micro calls a
// handler from the subscription's one goroutine, where a slow request
// would hold up the others.
func concurrently(handle handler) micro.RequestHandler {
	return func(req *micro.Request) {
		inFlight.Add(1)
		go func() {
			defer inFlight.Done()
			answer(req, handle)
		}()
	}
}

func answer(req *micro.Request, handle handler) {
	reply, err := handle(req.Data())
	var f *failure
	switch {
	case err == nil:
		_ = req.Respond(reply)
	case errors.As(err, &f):
		var opts []micro.RespondOpt
		if f.retryable != nil {
			opts = append(opts, micro.WithHeaders(micro.Headers{
				"Calf-Retryable": {fmt.Sprint(*f.retryable)},
			}))
		}
		message := f.message
		if message == "" {
			message = "failed" // micro refuses an empty description
		}
		_ = req.Error(f.code, message, f.data, opts...)
	default:
		// A bug or bad input: say so, and let the caller retry.
		_ = req.Error("500", err.Error(), nil)
	}
}

func main() {
	url := os.Getenv("NATS_URL")
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot connect to %s: %v (is nats-server running?)\n", url, err)
		os.Exit(1)
	}

	// This micro has one endpoint per service, in its queue group "q":
	// one service per subject. Every instance of this worker shares the
	// group, so each request reaches one of them.
	var services []micro.Service
	var subjects []string
	for _, h := range handlers {
		svc, err := micro.AddService(nc, micro.Config{
			Name:        "calf-example-" + strings.ReplaceAll(h.subject, ".", "-"),
			Version:     "1.0.0",
			Description: "Calf's example worker: " + h.subject,
			Endpoint:    micro.Endpoint{Subject: h.subject, Handler: concurrently(h.handle)},
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "cannot serve %s: %v\n", h.subject, err)
			os.Exit(1)
		}
		services = append(services, svc)
		subjects = append(subjects, h.subject)
	}
	if err := nc.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot reach %s: %v\n", url, err)
		os.Exit(1)
	}
	fmt.Printf("serving %s on %s\n", strings.Join(subjects, ", "), url)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop

	// Stop drains each service's subscriptions: no new requests, and
	// those already received still reach the handler. Once every
	// subscription is gone, every request has been handed to a goroutine.
	for _, svc := range services {
		_ = svc.Stop()
	}
	for deadline := time.Now().Add(10 * time.Second); nc.NumSubscriptions() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	inFlight.Wait()
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err == nil {
		<-closed
	}
}
