package localcluster

import (
	"flag"
	"io"
	"sync"
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

// The Kubernetes components log through klog and gRPC's logger, both of which
// are process-wide. They are pointed once at logSink, whose destination each
// started cluster sets to its own log file, so nothing reaches the terminal.
var (
	logSink     = &switchWriter{w: io.Discard}
	logInitOnce sync.Once
)

// switchWriter is an io.Writer whose destination can be changed while
// other goroutines write to it.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

// redirectComponentLogs sends klog and gRPC log output to w from now on.
func redirectComponentLogs(w io.Writer) {
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
	})
	logSink.set(w)
}
