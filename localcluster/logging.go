package localcluster

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
	_ "unsafe" // for go:linkname

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/grpclog"
	_ "k8s.io/apiserver/pkg/storage/storagebackend/factory" // owns etcd3ClientLogger
	"k8s.io/klog/v2"
)

// etcd3ClientLogger is the logger of the API server's etcd clients, which
// the apiserver library points at stderr when it is loaded; gyre points it at
// the component log file, or a stopping cluster prints warnings on the
// terminal.
//
//go:linkname etcd3ClientLogger k8s.io/apiserver/pkg/storage/storagebackend/factory.etcd3ClientLogger
var etcd3ClientLogger *zap.Logger

// The Kubernetes components log through klog, gRPC's logger and the etcd
// client's zap logger, all of which are process-wide: a line cannot be told
// to belong to one cluster of several in the process. They are pointed once
// at logSink, which writes to the log file of the earliest started cluster
// that still runs, so nothing reaches the terminal and nothing is written
// twice.
var (
	logSink     = &logRouter{}
	logInitOnce sync.Once
)

// logRouter is an io.Writer that forwards to the first of a list of log
// files; clusters join the list when they start and leave it when they
// stop. With no file it discards.
type logRouter struct {
	mu    sync.Mutex
	files []*os.File // in start order; files[0] receives the writes
}

func (r *logRouter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.files) == 0 {
		return len(p), nil
	}
	return r.files[0].Write(p)
}

// join adds f to the end of the list and returns the path of the file that
// receives the logs now.
func (r *logRouter) join(f *os.File) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files = append(r.files, f)
	return r.files[0].Name()
}

// leave removes f from the list; if f received the logs, the next file in
// start order does from now on.
func (r *logRouter) leave(f *os.File) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files = slices.DeleteFunc(r.files, func(g *os.File) bool { return g == f })
}

// current returns the path of the file that receives the logs, or "" when
// no cluster runs.
func (r *logRouter) current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.files) == 0 {
		return ""
	}
	return r.files[0].Name()
}

// redirectComponentLogs points the process-wide loggers at logSink (once per
// process) and adds f to it. When another cluster's file receives the logs,
// f gets a line saying where they are.
func redirectComponentLogs(f *os.File) {
	logInitOnce.Do(func() {
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		fs.Set("logtostderr", "false")
		fs.Set("alsologtostderr", "false")
		fs.Set("stderrthreshold", "FATAL")
		fs.Set("skip_headers", "false")
		klog.SetOutput(logSink)
		grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, logSink, logSink))
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		etcd3ClientLogger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(logSink), zapcore.WarnLevel)).Named("etcd-client")
		klog.OsExit = componentExit
	})
	if to := logSink.join(f); to != f.Name() {
		fmt.Fprintf(f, "%s gyre: the Kubernetes components of this process, this cluster's included, log to %s (their loggers are process-wide)\n", time.Now().UTC().Format(time.RFC3339), to)
	}
}

// componentExit stands in for os.Exit where the Kubernetes components give
// up (klog.FlushAndExit, klog's Fatal): the namespace controller does when
// discovery finds nothing while its cluster's API server stops, say. The
// process runs other clusters and gyre itself, so it must not end: the
// goroutine that gave up ends instead, and the log says so.
func componentExit(code int) {
	fmt.Fprintf(logSink, "%s gyre: a Kubernetes component asked to exit the process (status %d); only its goroutine ends\n", time.Now().UTC().Format(time.RFC3339), code)
	runtime.Goexit()
}

// stopComponentLogs flushes what the components logged and takes f out of
// logSink.
func stopComponentLogs(f *os.File) {
	klog.Flush()
	logSink.leave(f)
}
