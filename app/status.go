package app

// SyncStatus says whether the live state matches git, for one object or a
// whole Application.
type SyncStatus string

// The sync statuses of an object or an Application.
const (
	// Synced: the live object equals what git declares.
	Synced SyncStatus = "Synced"
	// OutOfSync: the live object differs, is missing, or is extraneous.
	OutOfSync SyncStatus = "OutOfSync"
	// SyncUnknown: the comparison could not be made (e.g. the render failed).
	SyncUnknown SyncStatus = "Unknown"
)

// HealthStatus says whether an object or an Application is working.
type HealthStatus string

// The health statuses, listed from best to worst as HealthStatus.Worse
// orders them.
const (
	// Healthy: the object is doing its job.
	Healthy HealthStatus = "Healthy"
	// Suspended: the object is paused on purpose (a paused Deployment, a
	// suspended CronJob).
	Suspended HealthStatus = "Suspended"
	// Progressing: the object is on its way to Healthy (a rollout, a pending
	// load balancer).
	Progressing HealthStatus = "Progressing"
	// HealthUnknown: the health could not be assessed.
	HealthUnknown HealthStatus = "Unknown"
	// Missing: git declares the object but it does not exist.
	Missing HealthStatus = "Missing"
	// Degraded: the object failed and will not recover on its own (a crash
	// loop, a failed Job, a rollout past its deadline).
	Degraded HealthStatus = "Degraded"
)

// healthRank orders statuses for aggregation: a higher rank is worse. An
// unrecognised status ranks as HealthUnknown.
func healthRank(h HealthStatus) int {
	switch h {
	case Healthy:
		return 0
	case Suspended:
		return 1
	case Progressing:
		return 2
	case HealthUnknown:
		return 3
	case Missing:
		return 4
	case Degraded:
		return 5
	}
	return 3
}

// Worse reports whether h is worse than other, for "worst wins" aggregation.
func (h HealthStatus) Worse(other HealthStatus) bool {
	return healthRank(h) > healthRank(other)
}
